"""``imfun convert IN OUT``: between every readable and writable format, keeping the axes."""

from __future__ import annotations

from .common import (
    Formatter,
    add_debug,
    add_input,
    add_scale,
    dtype_arg,
    open_selected,
    positive_int,
    say,
    write_sequence,
)

EPILOG = """\
examples:
  imfun convert movie.tif movie.h5
  imfun convert recording.h5 recording.ome.zarr --frames 0:1000
  imfun convert 'frames/*.png' stack.tif --dt 0.05        # state the frame interval
  imfun convert movie.tif small.tif --bin 2 --bin-time 4  # 2x2 pixels, 4 frames averaged
  imfun convert movie.tif movie.npy --crop 0:256,0:256 --dtype float32
  imfun convert movie.tif small8.tif --dtype uint8 --scale     # data range -> 0..255
  imfun convert movie.tif small8.tif --dtype uint8 --scale 0,4095

--dtype never wraps values around: a narrowing type (float to integer, a narrower or unsigned
integer) is refused when the data do not fit it (floats that fit are rounded); --scale maps
the data's exact range (or LO..HI, values outside clipped) onto the type's range instead.

outputs: .tif/.tiff (ImageJ), .ome.tif (OME-TIFF), .h5/.hdf5, .zarr/.ome.zarr (OME-Zarr),
.npy (no axes), .mp4/.mov/.mkv/.avi (a movie)
"""


def register(sub) -> None:
    p = sub.add_parser("convert", help="convert between formats, keeping axes and units",
                       description="Convert a sequence to another format, block by block "
                                   "(the frame interval and pixel size go with it).",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("path", metavar="IN", help="file, folder or glob (quote globs)")
    p.add_argument("output", metavar="OUT", help="output path; its ending chooses the format")
    p.add_argument("--dtype", type=dtype_arg, help="convert the pixels, e.g. uint16 or float32")
    add_scale(p)
    p.add_argument("--compression", help="TIFF or HDF5 compression, e.g. zlib (TIFF), gzip (HDF5)")
    p.add_argument("--bin", type=positive_int, metavar="N", help="bin N x N pixels (mean)")
    p.add_argument("--bin-time", type=positive_int, metavar="N", help="average N consecutive frames")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_input(p)
    add_debug(p)
    p.set_defaults(func=run)


def run(args) -> int:
    fs = open_selected(args)
    with fs:
        out_fs = fs
        if args.bin and args.bin > 1:
            out_fs = out_fs.bin(args.bin)
        if args.bin_time and args.bin_time > 1:
            out_fs = out_fs.bin_time(args.bin_time)
        out = write_sequence(out_fs, args.output, args.overwrite, args.dtype, args.compression,
                             scale=args.scale)
    say(args, f"{len(out_fs)} frames of {out_fs.frame_shape} ({out_fs.meta['axes'].describe()}) -> {out}")
    return 0
