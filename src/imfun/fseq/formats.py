"""The public frame-sequence class of each format (``FSeq_tiff``, ``FSeq_hdf5`` ...).

Each class is a thin constructor: it resolves its path, asks the format's
registry entry for the reader (:mod:`imfun.readers`) with the options it was
given, and wraps the reader in a :class:`~imfun.fseq.FrameSequence`.  The
signatures are those of the API reference (``FSeq_imgleic(pattern, ch=0,
fns=[], xmlname=None, meta=None)`` ...); ``open_seq`` returns these classes too.
"""

from __future__ import annotations

from ..readers import registry
from .sequence import FrameSequence


def open_reader(name: str, path, **options):
    """The reader of format ``name`` for ``path`` (a file, glob, folder or list) and ``options``."""
    return registry.entry(name).open(registry.resolve(path), **options)


class FormatSequence(FrameSequence):
    """Base of the format classes: made by their constructors or, from a reader that
    ``open_seq`` built, by :meth:`from_reader` (the source is resolved once)."""

    @classmethod
    def from_reader(cls, reader, fns=None, meta=None) -> FormatSequence:
        fs = cls.__new__(cls)
        FrameSequence.__init__(fs, reader, fns=fns, meta=meta)
        return fs



class FSeq_tiff(FormatSequence):
    """Frames of a multi-page TIFF file (plain, BigTIFF, ImageJ hyperstack, OME-TIFF).

    Parameters
    ----------
    path : str or Path
        The file.
    ch : int or None
        Keep one channel (2-D frames); None keeps all channels (``rows x cols x channels``).
    series : int
        Which series (image) of the file to read.
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata overriding the file's; ``meta['axes']`` is read from ImageJ
        (``finterval``, ``spacing``, ``unit``, resolution), OME (``PhysicalSizeX/Y/Z``,
        ``TimeIncrement`` and their units) or the resolution tags, in s and µm.
    z : int, 'max', 'mean' or None
        Keep one Z slice of a file with a Z axis, or project over the slices at
        each time point; needed when the file has both time points and slices
        (an ImageJ TZCYX hyperstack, say).  A z-stack without time points is
        read slice by slice.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'movie.tif')
    >>> tifffile.imwrite(path, np.zeros((10, 32, 48), np.uint16), imagej=True,
    ...                  metadata={'axes': 'TYX', 'finterval': 0.1})
    >>> fs = FSeq_tiff(path)
    >>> len(fs), fs.frame_shape, fs.meta['axes'][0]
    (10, (32, 48), AxisScale(scale=0.1, unit='s'))
    >>> fs.close()
    """

    def __init__(self, path, ch=None, series=0, fns=None, meta=None, *, z=None):
        super().__init__(open_reader("tiff", path, ch=ch, series=series, z=z), fns=fns, meta=meta)


class FSeq_tiffs(FormatSequence):
    """Frames of several multi-page TIFF files, one after another.

    Microscopes often split one acquisition into files of a few hundred frames
    (``movie_00001.tif``, ``movie_00002.tif`` ...); ``open_seq`` on their glob,
    folder or list gives this class when the first file holds several pages.

    Parameters
    ----------
    pattern : str, Path, list of paths
        A glob pattern, a folder or a list of files (globs and folders in natural order).
    ch, series, z, fns, meta :
        As for :class:`FSeq_tiff`, applied to every file.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     tifffile.imwrite(os.path.join(folder, f'part{i}.tif'), np.full((4, 8, 8), i, np.uint16),
    ...                      imagej=True, metadata={'axes': 'TYX'})
    >>> fs = FSeq_tiffs(os.path.join(folder, 'part*.tif'))
    >>> len(fs), fs[5][0, 0]
    (12, np.uint16(1))
    >>> fs.close()
    """

    def __init__(self, pattern, ch=None, series: int = 0, fns=None, meta=None, *, z: int | None = None):
        super().__init__(open_reader("tiff-files", pattern, ch=ch, series=series, z=z), fns=fns, meta=meta)


class FSeq_img(FormatSequence):
    """A frame sequence from a collection of image files, one frame per file.

    Parameters
    ----------
    pattern : str, pathlib.Path or list
        A glob pattern (``'data/frame*.png'``), a folder holding the frames,
        or a list of file names.  Globs and folders are sorted naturally
        (``frame2`` before ``frame10``); a list is taken in its order.
    ch : int, str or None
        Colour channel to keep: an int or ``'r'``, ``'g'``, ``'b'`` gives 2-D
        frames; None keeps all channels (``rows x cols x channels`` for colour).
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata; ``meta['axes']`` as ``[(dt, 's'), (dy, 'µm'), (dx, 'µm')]``.

    Examples
    --------
    >>> import numpy as np, imageio.v3 as iio, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     iio.imwrite(os.path.join(folder, f'frame{i}.png'), np.full((4, 5), i, np.uint8))
    >>> fs = FSeq_img(os.path.join(folder, 'frame*.png'))
    >>> len(fs), fs.frame_shape, fs.dtype
    (3, (4, 5), dtype('uint8'))
    >>> fs.mean_frame()[0, 0]
    np.float64(1.0)
    """

    def __init__(self, pattern, ch=None, fns=None, meta=None):
        super().__init__(open_reader("images", pattern, ch=ch), fns=fns, meta=meta)


class FSeq_glob(FSeq_img):
    """A frame sequence from image files matching a glob pattern (see :class:`FSeq_img`).

    Examples
    --------
    >>> import numpy as np, imageio.v3 as iio, tempfile, os
    >>> from imfun.fseq import open_seq
    >>> folder = tempfile.mkdtemp()
    >>> for i in (1, 2, 10):
    ...     iio.imwrite(os.path.join(folder, f'f{i}.png'), np.full((2, 3, 3), i, np.uint8))
    >>> fs = open_seq(os.path.join(folder, '*.png'), ch='g')
    >>> type(fs).__name__, fs.frame_shape, [int(f[0, 0]) for f in fs]
    ('FSeq_glob', (2, 3), [1, 2, 10])
    """


class FSeq_imgleic(FormatSequence):
    """FrameSequence around the image files created by Leica software.

    It reads the frames as :class:`FSeq_img` does and
    takes the pixel size (µm), the frame interval (s) or z step (µm) and the
    frame time stamps from the Leica XML job description, found beside the
    images or in a ``MetaData/`` folder (the XML whose name is the longest
    prefix of the images' names), or given as ``xmlname``.

    Parameters
    ----------
    pattern : str, Path or list
        Glob pattern, folder or list of the image files (one channel: Leica
        writes ``..._ch00``, ``..._ch01`` files; select one with the pattern).
    ch : int, str or None
        Colour channel of the image files (as for ``FSeq_img``).
    fns : list of callables
        Per-frame pipeline.
    xmlname : str or Path or None
        The XML description, when it cannot be found by name.
    meta : dict or None
        Metadata overriding what the XML says.

    Examples
    --------
    >>> fs = FSeq_imgleic('export/Series003_t*_ch00.tif')     # doctest: +SKIP
    >>> fs.meta['axes'].describe()                             # doctest: +SKIP
    't: 0.5 s, y: 0.0989 µm, x: 0.0989 µm'
    >>> fs.frame_idx()[:3]                                     # doctest: +SKIP
    array([0.   , 0.501, 1.002])
    """

    def __init__(self, pattern, ch=0, fns=None, xmlname=None, meta=None):
        super().__init__(open_reader("leica", pattern, ch=ch, xmlname=xmlname), fns=fns, meta=meta)


class FSeq_npy(FormatSequence):
    """Frames from NumPy ``.npy`` files.

    Parameters
    ----------
    path : str, Path, glob pattern or list of paths
        One ``.npy`` file with a 3-D/4-D stack (memory-mapped; a 2-D array is
        one frame), or several files of one frame each (read in threads).
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata, e.g. ``{'axes': [(0.1, 's'), (0.5, 'µm'), (0.5, 'µm')]}``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> np.save(os.path.join(folder, 'stack.npy'), np.zeros((10, 32, 48), np.float32))
    >>> fs = FSeq_npy(os.path.join(folder, 'stack.npy'))
    >>> len(fs), fs.frame_shape, fs.dtype
    (10, (32, 48), dtype('float32'))
    """

    def __init__(self, path, fns=None, meta=None):
        super().__init__(open_reader("npy", path), fns=fns, meta=meta)


class FSeq_txt(FormatSequence):
    """Frames from text files, one frame per file (read with ``np.loadtxt``).

    Parameters
    ----------
    pattern : str, Path, glob pattern or list of paths
        The files: ``'data/frame*.txt'``, a folder, a list, or one file (one frame).
        Numbers are separated by whitespace or commas; ``#`` starts a comment.
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata, e.g. ``{'axes': [(0.1, 's'), (0.5, 'µm'), (0.5, 'µm')]}``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     np.savetxt(os.path.join(folder, f'f{i}.txt'), np.full((4, 5), i))
    >>> fs = FSeq_txt(os.path.join(folder, 'f*.txt'))
    >>> len(fs), fs.frame_shape, fs[2][0, 0]
    (3, (4, 5), np.float64(2.0))
    """

    def __init__(self, pattern, fns=None, meta=None):
        super().__init__(open_reader("txt", pattern), fns=fns, meta=meta)


class FSeq_hdf5(FormatSequence):
    """Frames from a data set of an HDF5 file.

    Parameters
    ----------
    path : str or Path
        The HDF5 file (``.h5``, ``.hdf5``, ``.hdf``, ``.he5``, ``.nwb``).
    dataset : str or None
        Path of the data set inside the file (``'group/data'``); may be left
        out when the file holds one numeric data set of 3 or more dimensions.
    axes : str or None
        Stored order, one letter per axis (``'tyx'``, ``'yxt'``, ``'tyxc'``,
        ``'cyxt'``, ``'zyx'``); by default from the file's labels, else
        ``'tyx'``/``'tyxc'``.
    ch : int, str or None
        Keep this channel (frames become 2-D); None keeps all channels.
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata overriding what the file says (e.g. ``{'axes': [...]}``).
    z : int or None
        The z plane to read when the data set has both t and z (default 0).

    Examples
    --------
    >>> import h5py, numpy as np, tempfile, os
    >>> name = os.path.join(tempfile.mkdtemp(), 'rec.h5')
    >>> with h5py.File(name, 'w') as f:
    ...     ds = f.create_dataset('scan/data', data=np.zeros((16, 8, 10), 'u2'))
    ...     ds.attrs['imfun_axes'] = 'yxt'
    ...     ds.attrs['imfun_scales'] = [0.5, 0.5, 0.1]
    ...     ds.attrs['imfun_units'] = ['um', 'um', 's']
    >>> with FSeq_hdf5(name) as fs:
    ...     len(fs), fs.frame_shape, fs.meta['axes'][0]
    (10, (16, 8), AxisScale(scale=0.1, unit='s'))
    """

    def __init__(self, path, dataset: str | None = None, axes: str | None = None, ch=None,
                 fns=None, meta: dict | None = None, z: int | None = None):
        reader = open_reader("hdf5", path, dataset=dataset, axes=axes, ch=ch, z=z)
        super().__init__(reader, fns=fns, meta=meta)


class FSeq_zarr(FormatSequence):
    """Frames from an array of a Zarr store or an OME-Zarr image.

    Parameters
    ----------
    path : str or Path
        The store: a folder (``.zarr``, ``.ome.zarr``, or any folder holding
        ``.zarray``/``.zgroup``/``zarr.json``).
    array : str or None
        Path of the array (or OME-Zarr image group) inside the store; may be
        left out when there is only one.
    level : int
        Resolution level of an OME-Zarr image (0 is the full resolution).
    axes : str or None
        Stored order, one letter per axis (``'tyx'``, ``'tczyx'``, ``'yxt'``);
        by default from the metadata.
    ch : int, str or None
        Keep this channel (an index, ``'r'``/``'g'``/``'b'``, or an OME-Zarr
        channel label); None keeps all channels (frames ``rows x cols x c``).
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata overriding what the store says.
    z : int or None
        The z plane when the image has both t and z (default 0).

    Examples
    --------
    >>> import zarr, numpy as np, tempfile, os
    >>> name = os.path.join(tempfile.mkdtemp(), 'rec.zarr')
    >>> z = zarr.create_array(name, shape=(20, 8, 10), chunks=(5, 8, 10), dtype='u2')
    >>> z[:] = 7
    >>> fs = FSeq_zarr(name)
    >>> len(fs), fs.frame_shape, fs.reader.natural_block
    (20, (8, 10), 5)
    """

    def __init__(self, path, array: str | None = None, level: int = 0, axes: str | None = None, ch=None,
                 fns=None, meta: dict | None = None, z: int | None = None):
        reader = open_reader("zarr", path, array=array, level=level, axes=axes, ch=ch, z=z)
        super().__init__(reader, fns=fns, meta=meta)


class FSeq_video(FormatSequence):
    """A frame sequence from a video file (MP4, AVI, MOV, MKV, M4V, WebM), read with PyAV.

    Frames are read lazily with frame-exact seeking; ``meta['axes'][0]`` is
    ``(1/fps, 's')``.  Needs the optional package PyAV: ``pip install 'imfun[video]'``.

    Parameters
    ----------
    path : str or path-like
        The video file.
    ch : int, str or None
        None: RGB frames ``rows x cols x 3`` uint8; ``'gray'``: grey frames;
        an int or ``'r'``, ``'g'``, ``'b'``: one channel of the RGB frames.
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata; given entries override the file's.

    Examples
    --------
    >>> import av, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'movie.mkv')
    >>> with av.open(path, 'w') as out:
    ...     stream = out.add_stream('ffv1', rate=10)
    ...     stream.width, stream.height, stream.pix_fmt = 48, 32, 'gray'
    ...     for i in range(5):
    ...         frame = av.VideoFrame.from_ndarray(np.full((32, 48), 10 * i, np.uint8), format='gray')
    ...         out.mux(stream.encode(frame))
    ...     out.mux(stream.encode())
    >>> fs = FSeq_video(path, ch='gray')
    >>> len(fs), fs.frame_shape, fs.meta['axes'][0]
    (5, (32, 48), AxisScale(scale=0.1, unit='s'))
    >>> int(fs[3][0, 0])
    30
    >>> fs.close()
    """

    def __init__(self, path, ch=None, fns=None, meta=None):
        super().__init__(open_reader("video", path, ch=ch), fns=fns, meta=meta)


class FSeq_mes(FormatSequence):
    """Frames of one record of a Femtonics MES file (XYT time-lapse, Z-stack or XY image).

    Parameters
    ----------
    path : str or Path
        The ``.mes`` file (MATLAB v5 or v7.3).
    record : int, str or None
        Which record: ``3``, ``'3'`` or ``'Df0003'``; by default the first
        record that holds frames.  :func:`list_mes_records` lists them.
    ch : int, str or None
        Channel by index or name (``'pmtUG'``; a unique part such as ``'UG'``
        works); None reads all channels (colour frames when there are several).
    fns : list of callables
        Per-frame pipeline.
    meta : dict or None
        Metadata overriding the file's.  ``meta['axes']`` comes from the file:
        frame interval in s (``frameTimeLength``) for XYT, z step in µm for
        z-stacks, and µm per pixel (``WidthStep``).

    Examples
    --------
    >>> fs = FSeq_mes('cells.mes', record='Df0002', ch='pmtUG')   # doctest: +SKIP
    >>> fs.meta['axes'].describe()                                  # doctest: +SKIP
    't: 0.125 s, y: 0.4 µm, x: 0.4 µm'
    """

    def __init__(self, path, record=None, ch=None, fns=None, meta=None):
        super().__init__(open_reader("mes", path, record=record, ch=ch), fns=fns, meta=meta)


class FSeq_mlf(FormatSequence):
    """Frames of a Moor FLPI laser-speckle file (``.mlf``, V2 or V3).

    Parameters
    ----------
    path : str or Path
        The ``.mlf`` file.
    fns : list of callables
        Per-frame pipeline.
    meta : dict or None
        Metadata overriding the file's (``meta['axes'][0]`` is the frame
        interval from the header, in s).
    kind : {'flux', 'dc'}
        Which images are the frames: the flux images (default) or the DC
        (mean intensity) images stored after each of them.

    Examples
    --------
    >>> fs = FSeq_mlf('speckle.mlf')                # doctest: +SKIP
    >>> fs.meta['axes'][0], fs.meta['exposure']     # doctest: +SKIP
    (AxisScale(scale=0.04, unit='s'), 6)
    >>> dc = fs.dc_frames()                         # doctest: +SKIP
    """

    def __init__(self, path, fns=None, meta=None, kind: str = "flux"):
        super().__init__(open_reader("mlf", path, kind=kind), fns=fns, meta=meta)

    def dc_frames(self, fns=None) -> FSeq_mlf:
        """The DC (mean intensity) frames of the same file as a new sequence."""
        meta = {"axes": self.meta["axes"].copy()}
        return FSeq_mlf(self.reader.path, fns=fns, meta=meta, kind="dc")


class FSeq_spe(FormatSequence):
    """Frames of a Princeton Instruments SPE file (WinView/WinSpec 2.x, LightField 3.0).

    Parameters
    ----------
    path : str or Path
        The ``.spe`` file.
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata; the file has no frame interval, so give ``{'axes': [(dt, 's'), ...]}``.

    Examples
    --------
    >>> import numpy as np, struct, tempfile, os
    >>> header = bytearray(4100)
    >>> struct.pack_into('<H', header, 42, 6); struct.pack_into('<h', header, 108, 3)
    >>> struct.pack_into('<H', header, 656, 4); struct.pack_into('<i', header, 1446, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), 'a.spe')
    >>> with open(path, 'wb') as fh:
    ...     _ = fh.write(bytes(header) + np.arange(48, dtype='<u2').tobytes())
    >>> fs = FSeq_spe(path)
    >>> len(fs), fs.frame_shape, int(fs[1][0, 0])
    (2, (4, 6), 24)
    >>> fs.close()
    """

    def __init__(self, path, fns=None, meta=None):
        super().__init__(open_reader("spe", path), fns=fns, meta=meta)


class FSeq_nd2(FormatSequence):
    """Frames of a Nikon ND2 file (needs ``pip install 'imfun[vendor]'``).

    Parameters
    ----------
    path : str or Path
        The ``.nd2`` file.
    series : int
        Stage position (``P``) for multi-position files.
    ch : int or None
        One channel (2-D frames) or None for all (colour frames).
    z : int or None
        The z-plane; needed when the file has both time points and z-planes.
        Without time points, frames go along z.
    fns, meta
        Per-frame pipeline and metadata overrides.

    Examples
    --------
    >>> fs = FSeq_nd2('cells.nd2', ch=0, z=4)        # doctest: +SKIP
    >>> fs.meta['axes'].describe()                   # doctest: +SKIP
    't: 1.01 s, y: 0.168 µm, x: 0.168 µm'
    """

    def __init__(self, path, series=0, ch=None, z=None, fns=None, meta=None):
        super().__init__(open_reader("nd2", path, series=series, ch=ch, z=z), fns=fns, meta=meta)


class FSeq_lif(FormatSequence):
    """Frames of one image of a Leica LIF file (needs ``pip install 'imfun[vendor]'``).

    ``series`` is the image index; ``ch``, ``z`` as for :class:`FSeq_nd2`.

    Examples
    --------
    >>> fs = FSeq_lif('experiment.lif', series=2, ch=1)   # doctest: +SKIP
    """

    def __init__(self, path, series=0, ch=None, z=None, fns=None, meta=None):
        super().__init__(open_reader("lif", path, series=series, ch=ch, z=z), fns=fns, meta=meta)


class FSeq_czi(FormatSequence):
    """Frames of one scene of a Zeiss CZI file (needs ``pip install 'imfun[vendor]'``).

    The scene is decoded into memory at the first read (czifile cannot read
    part of a file).  ``series`` is the scene; ``ch``, ``z`` as for :class:`FSeq_nd2`.

    Examples
    --------
    >>> fs = FSeq_czi('stack.czi', ch=0)   # doctest: +SKIP
    """

    def __init__(self, path, series=0, ch=None, z=None, fns=None, meta=None):
        super().__init__(open_reader("czi", path, series=series, ch=ch, z=z), fns=fns, meta=meta)


class FSeq_oif(FormatSequence):
    """Frames of an Olympus OIF/OIB file (needs ``pip install 'imfun[vendor]'``).

    Decoded into memory at the first read.  ``series``, ``ch``, ``z`` as for
    :class:`FSeq_nd2`.

    Examples
    --------
    >>> fs = FSeq_oif('cells.oib', ch=1)   # doctest: +SKIP
    """

    def __init__(self, path, series=0, ch=None, z=None, fns=None, meta=None):
        super().__init__(open_reader("oif", path, series=series, ch=ch, z=z), fns=fns, meta=meta)


class FSeq_lsm(FormatSequence):
    """Frames of a Zeiss LSM file (read with tifffile).

    ``series``, ``ch``, ``z`` as for :class:`FSeq_nd2`; axes from the LSM
    header (voxel sizes, time interval).

    Examples
    --------
    >>> fs = FSeq_lsm('timelapse.lsm', ch=0)   # doctest: +SKIP
    """

    def __init__(self, path, series=0, ch=None, z=None, fns=None, meta=None):
        super().__init__(open_reader("lsm", path, series=series, ch=ch, z=z), fns=fns, meta=meta)


class FSeq_stk(FormatSequence):
    """Frames of a MetaMorph STK stack (read with tifffile).

    Examples
    --------
    >>> fs = FSeq_stk('stack.stk')   # doctest: +SKIP
    """

    def __init__(self, path, series=0, ch=None, z=None, fns=None, meta=None):
        super().__init__(open_reader("stk", path, series=series, ch=ch, z=z), fns=fns, meta=meta)


class FSeq_scanimage(FormatSequence):
    """Frames of a ScanImage recording: frame rate, channels, planes, time stamps, mROI fields.

    Parameters
    ----------
    path : str, Path or list
        A ScanImage TIFF, or the files of one acquisition split over files (a glob,
        a folder or a list; put in the order of their frame numbers).
    ch : int, str or None
        A saved channel by position or name (``meta['channel_names']``); None keeps all
        (frames ``rows x cols x channels``).
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata overriding the file's.  From the file: ``axes`` (the frame period from the
        frame rate, the volume period for volumes; pixel size in µm from the objective
        resolution and the ROI's size in degrees, or ``imagingFovUm``), ``frame_times``
        (``frameTimestamps_sec`` of each frame, in s from the acquisition's start; read from
        every page on first use), ``frame_numbers``, ``dropped_frames``, ``channel_names``,
        ``scanimage_planes``, ``scanimage_flyback_frames``, ``scanimage_frames_per_slice``,
        ``scanimage_zoom``, ``scanimage_rois`` (multi-ROI files) and ``scanimage`` (the
        parsed header: ``version``, ``FrameData``, ``RoiGroups``).
    z : int or None
        The plane of a volume recording (required then; flyback frames are dropped).
    roi : int, str or None
        One multi-ROI field (see :func:`list_scanimage_rois`); None keeps whole pages.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'si.tif')
    >>> header = ("SI.hChannels.channelSave = [1;2]\\nSI.hRoiManager.scanFrameRate = 20\\n"
    ...           "SI.hStackManager.numSlices = 1\\n")
    >>> tifffile.imwrite(path, np.arange(6 * 8 * 8, dtype=np.int16).reshape(6, 8, 8), software=header)
    >>> fs = FSeq_scanimage(path, ch=1)
    >>> len(fs), fs.meta['axes'][0], fs.meta['channel_names']
    (3, AxisScale(scale=0.05, unit='s'), ['Channel 2'])
    >>> int(fs[0][0, 0]) == 64
    True
    >>> fs.close()
    """

    def __init__(self, path, ch=None, fns=None, meta=None, *, z: int | None = None, roi=None):
        super().__init__(open_reader("scanimage", path, ch=ch, z=z, roi=roi), fns=fns, meta=meta)


for _cls in (
    FSeq_tiff,
    FSeq_tiffs,
    FSeq_img,
    FSeq_glob,
    FSeq_imgleic,
    FSeq_npy,
    FSeq_txt,
    FSeq_hdf5,
    FSeq_zarr,
    FSeq_video,
    FSeq_mes,
    FSeq_mlf,
    FSeq_spe,
    FSeq_nd2,
    FSeq_lif,
    FSeq_czi,
    FSeq_oif,
    FSeq_lsm,
    FSeq_stk,
    FSeq_scanimage,
):
    registry.bind_class(_cls.__name__, _cls)

__all__ = [
    'FSeq_czi',
    'FSeq_glob',
    'FSeq_hdf5',
    'FSeq_img',
    'FSeq_imgleic',
    'FSeq_lif',
    'FSeq_lsm',
    'FSeq_mes',
    'FSeq_mlf',
    'FSeq_nd2',
    'FSeq_npy',
    'FSeq_oif',
    'FSeq_scanimage',
    'FSeq_spe',
    'FSeq_stk',
    'FSeq_tiff',
    'FSeq_tiffs',
    'FSeq_txt',
    'FSeq_video',
    'FSeq_zarr',
    "FormatSequence",
    "open_reader",
]
