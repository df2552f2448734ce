"""Export methods of ``FrameSequence`` (images, movies, writers), mixed into the class.

The methods are thin: the work is done in :mod:`imfun.export.images`,
:mod:`imfun.export.movie` and :mod:`imfun.export.writers`, which read through
``iter_blocks`` and write through :mod:`imfun.export.atomic`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


class ExportMixin:
    """Methods that write a sequence out; they read through ``iter_blocks``."""

    # -- images and movies ------------------------------------------------------
    def export_img(self, path, base="fseq-export-", figsize=(4, 4), start=0, stop=None,
                   show_title=True, format=".png", vmin=None, vmax=None, *, fslice=None,
                   percentiles=None, colorbar=None, scalebar=None, dpi=100, **kwargs) -> list[str]:
        """Export frames as images by drawing them with matplotlib's ``imshow``.

        Files are named ``<base><source frame number>.<format>`` and titled with
        the source frame number and its time: after ``fs[5::10]`` the second
        image is ``fseq-export-015.png``, titled ``frame 15, ...``.

        Parameters
        ----------
        path : str or path
            Directory where to save images to; created if it does not exist.
        base : str
            A prefix for the created file names.
        figsize : tuple
            Size of the figures in inches.
        start, stop : int or None
            Export frames ``start`` to ``stop`` (exclusive; None is the end).
        show_title : bool
            Show the source frame number and its time (in s) over the frame.
        format : str
            ``png``, ``svg``, ``eps``, ``pdf``, ``bmp`` or ``tif`` (with or without the dot).
        vmin, vmax : float, sequence of float or None
            Display range (one value, or one per channel); None uses the 0.5 and
            99.5 percentiles of the exported frames (exact), so a hot pixel does
            not turn the picture black.
        fslice : optional
            The frames to export, as for :meth:`iter_blocks` (instead of ``start``/``stop``).
        percentiles : (low, high) or None
            Percentiles for a missing ``vmin``/``vmax`` (default ``(0.5, 99.5)``).
        colorbar : bool or None
            Draw a colour bar (None: for ΔF/F and z-scores, which get the diverging
            map ``'RdBu_r'`` centred on 0).
        scalebar : bool or None
            Draw a scale bar in µm (None: when the pixel size is in µm).
        dpi : int
            Dots per inch of the figure (default 100).
        **kwargs
            Passed to ``imshow``; ``cmap`` colours one-channel frames (default
            ``'gray'``); two channels are drawn green/magenta and three as RGB,
            each channel scaled on its own; ``overwrite=True`` replaces existing files.

        Returns
        -------
        list of str
            The names of the created files.

        Examples
        --------
        >>> import numpy as np, tempfile
        >>> from imfun.fseq import FSeq_arr
        >>> fs = FSeq_arr(np.random.rand(30, 8, 8))
        >>> names = fs[5::10].export_img(tempfile.mkdtemp(), format="png")
        >>> [n[-19:] for n in names]
        ['fseq-export-005.png', 'fseq-export-015.png', 'fseq-export-025.png']
        """
        from .images import export_img

        return export_img(self, path, base, figsize, start, stop, show_title, format, vmin, vmax,
                          fslice=fslice, percentiles=percentiles, colorbar=colorbar, scalebar=scalebar,
                          dpi=dpi, **kwargs)

    def export_movie_anim(self, video_name, fps=None, start=0, stop=None, show_title=True,
                          fig_size=(4, 4), bitrate=-1, writer="avconv", codec=None, frame_on=False,
                          marker_idx=None, vmin=None, vmax=None, *, fslice=None, speed=None,
                          percentiles=None, colorbar=None, scalebar=False, **kwargs) -> Path:
        """Create a movie (or a GIF) from the frame sequence with ffmpeg.

        The ffmpeg binary of the ``imageio-ffmpeg`` wheel is used; the legacy
        ``writer`` names (``'avconv'``, ``'ffmpeg'``, ``'mencoder'``) all mean it.
        Frames are coloured through a colormap table and piped to the encoder;
        a matplotlib figure is drawn per frame only when ``frame_on=True`` or
        extra ``imshow`` keywords are given.  The movie plays in real time by
        default; titles give the source frame number and its time.

        Parameters
        ----------
        video_name : str or path
            The movie file (``.mp4 .mov .mkv .avi .mpg .gif``); ``.mp4`` is added
            when there is no extension.
        fps : float or None
            Frames per second; None plays in real time, ``speed / dt`` — above
            60 fps (50 for GIF) every k-th frame is shown so it still plays in real
            time; 25 fps when the frame interval is unknown.
        start, stop : int or None
            The frames to include.
        show_title : bool
            Show the frame number, time and speed (when not real time) above the frame.
        fig_size : tuple
            Size in inches (at ``dpi=100``): sets the figure, or the integer zoom of small frames.
        bitrate : int
            kbit/s; -1 uses ``quality`` instead.
        writer : str
            Accepted for compatibility; ffmpeg is always used.
        codec : str or None
            ffmpeg codec (default H.264 for mp4/mov/mkv/avi, ``gif`` for GIF).
        frame_on : bool
            Draw the axes frame (matplotlib path).
        marker_idx : array_like or None
            Frame positions on which a red dot is shown (e.g. stimulation).
        vmin, vmax : float or None
            Display range; None uses the 0.5 and 99.5 percentiles of the frames shown.
        fslice : optional
            The frames to include, as for :meth:`iter_blocks` (instead of ``start``/``stop``).
        speed : float or str or None
            Play this many times faster than real time (``2`` or ``'2x'``).
        percentiles : (low, high) or None
            Percentiles for a missing ``vmin``/``vmax`` (default ``(0.5, 99.5)``).
        colorbar : bool or None
            Draw a colour bar (None: for ΔF/F and z-scores, drawn with ``'RdBu_r'`` centred on 0).
        scalebar : bool
            Draw a scale bar in µm at the lower right (the pixel size must be in µm).
        **kwargs
            ``cmap`` (default ``'gray'``), ``quality`` (1..10, default 8; 10 is
            lossless), ``zoom``, ``dpi``, ``overwrite``; anything else goes to ``imshow``.

        Returns
        -------
        pathlib.Path
            The movie written.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from imfun.fseq import FSeq_arr
        >>> fs = FSeq_arr(np.random.rand(10, 16, 16), meta={'axes': [(0.1, 's')]})
        >>> fs.export_movie_anim(os.path.join(tempfile.mkdtemp(), "movie")).suffix  # 10 fps: real time
        '.mp4'
        """
        from .movie import export_movie_anim

        return export_movie_anim(self, video_name, fps, start, stop, show_title, fig_size, bitrate,
                                 writer, codec, frame_on, marker_idx, vmin, vmax, fslice=fslice,
                                 speed=speed, percentiles=percentiles, colorbar=colorbar, scalebar=scalebar,
                                 **kwargs)

    # -- writers -------------------------------------------------------------------
    def to_tiff(self, path, *, imagej=True, ome=False, compression=None, overwrite=False,
                fslice=None, crop=None, budget=None, dtype=None, rescale=None, bigtiff=None) -> Path:
        """Write the frames to a multi-page TIFF, streaming block by block.

        Parameters
        ----------
        path : str or path
            The TIFF file.
        imagej : bool
            Write an ImageJ hyperstack (uint8, uint16, int16 or float32) carrying
            the pixel size (resolution in pixels per µm, unit ``um``) and the
            frame interval (``finterval``) — or ``spacing`` for a z-stack.
        ome : bool
            Write an OME-TIFF instead, with ``PhysicalSizeX/Y`` and ``TimeIncrement``.
        compression : str or None
            e.g. ``'zlib'``.
        overwrite : bool
            Replace an existing file.
        fslice, crop :
            Which frames and which part of each frame, as for :meth:`iter_blocks`.
        budget : int or str or None
            Memory budget of the blocks (default: the global one).
        dtype : numpy dtype or None
            Convert the frames to this type.  A narrowing conversion (say uint16 to uint8,
            float to int) never wraps: values that do not fit are an error that gives the
            data's range, unless ``rescale`` maps them (:mod:`imfun.dtypes`).
        rescale : None, True or (lo, hi)
            Map the data's exact range (True) or ``(lo, hi)`` linearly onto ``dtype``'s range
            (values outside ``(lo, hi)`` are clipped); floats are rounded to integers.
        bigtiff : bool or None
            None writes BigTIFF when the data exceed 4 GB.

        Returns
        -------
        pathlib.Path
            The file written (written under a temporary name and renamed at the end).

        Examples
        --------
        >>> import numpy as np, tempfile, os, tifffile
        >>> from imfun.fseq import FSeq_arr
        >>> fs = FSeq_arr(np.zeros((4, 8, 8), np.uint16))
        >>> p = fs.to_tiff(os.path.join(tempfile.mkdtemp(), "a.tif"))
        >>> tifffile.imread(p).shape
        (4, 8, 8)
        """
        from .writers import to_tiff

        return to_tiff(self, path, imagej=imagej, ome=ome, compression=compression,
                       overwrite=overwrite, fslice=fslice, crop=crop, budget=budget, dtype=dtype,
                       rescale=rescale, bigtiff=bigtiff)

    def to_hdf5(self, path, dataset="data", *, compression=None, compression_opts=None, chunks=True,
                overwrite=False, fslice=None, crop=None, budget=None, dtype=None, rescale=None) -> Path:
        """Write the frames to a chunked HDF5 data set, streaming block by block.

        The data set carries the attributes ``imfun_axes`` (``'tyx'`` or
        ``'tyxc'``), ``imfun_scales`` (``[dt, dy, dx]``), ``imfun_units``
        (e.g. ``['s', 'µm', 'µm']``) and, for Fiji, ``element_size_um``.

        Parameters
        ----------
        path : str or path
            The HDF5 file.
        dataset : str
            Name of the data set.
        compression : None, 'gzip' or 'lzf'
            HDF5 filter (``compression_opts`` is the gzip level).
        chunks : True, None or tuple
            True chooses chunks of whole frames (about 4 MB).
        overwrite, fslice, crop, budget, dtype, rescale :
            As for :meth:`to_tiff`.

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import numpy as np, tempfile, os, h5py
        >>> from imfun.fseq import FSeq_arr
        >>> fs = FSeq_arr(np.zeros((4, 8, 8)), meta={'axes': [(0.5, 's'), (0.2, 'um'), (0.2, 'um')]})
        >>> p = fs.to_hdf5(os.path.join(tempfile.mkdtemp(), "a.h5"))
        >>> with h5py.File(p) as f: print(f['data'].attrs['imfun_axes'])
        tyx
        """
        from .writers import to_hdf5

        return to_hdf5(self, path, dataset, compression=compression, compression_opts=compression_opts,
                       chunks=chunks, overwrite=overwrite, fslice=fslice, crop=crop, budget=budget,
                       dtype=dtype, rescale=rescale)

    def to_zarr(self, path, *, overwrite=False, chunks=None, compressors="auto", fslice=None, crop=None,
                budget=None, dtype=None, rescale=None) -> Path:
        """Write the frames as an OME-Zarr image (NGFF 0.4), streaming block by block.

        The store is a group whose ``multiscales`` attribute names the axes
        (``t``, [``c``,] ``y``, ``x``, with types and units ``second`` /
        ``micrometer``) and their scales; the frames are the array ``'0'``
        (colour frames stored as ``(t, c, y, x)`` as NGFF requires).

        Parameters
        ----------
        path : str or path
            The store folder (e.g. ``'movie.ome.zarr'``).
        chunks : tuple or None
            None chooses chunks of whole frames (about 4 MB).
        compressors : 'auto', None or zarr codecs
            Passed to ``zarr.create_array``.
        overwrite, fslice, crop, budget, dtype, rescale :
            As for :meth:`to_tiff`.

        Returns
        -------
        pathlib.Path

        Examples
        --------
        >>> import numpy as np, tempfile, os, zarr
        >>> from imfun.fseq import FSeq_arr
        >>> p = FSeq_arr(np.zeros((4, 8, 8))).to_zarr(os.path.join(tempfile.mkdtemp(), "a.zarr"))
        >>> zarr.open_group(p, mode="r")["0"].shape
        (4, 8, 8)
        """
        from .writers import to_zarr

        return to_zarr(self, path, overwrite=overwrite, chunks=chunks, compressors=compressors,
                       fslice=fslice, crop=crop, budget=budget, dtype=dtype, rescale=rescale)

    def to_npy(self, path, *, overwrite=False, fslice=None, crop=None, budget=None, dtype=None,
               rescale=None) -> Path:
        """Write the frames to a ``.npy`` file, filled block by block through a memory map.

        The file holds no axes (NPY has no place for them); ``dtype`` and ``rescale`` as for
        :meth:`to_tiff`.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from imfun.fseq import FSeq_arr
        >>> p = FSeq_arr(np.ones((4, 8, 8))).to_npy(os.path.join(tempfile.mkdtemp(), "a.npy"))
        >>> np.load(p).sum()
        np.float64(256.0)
        """
        from .writers import to_npy

        return to_npy(self, path, overwrite=overwrite, fslice=fslice, crop=crop, budget=budget,
                      dtype=dtype, rescale=rescale)
