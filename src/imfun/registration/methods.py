"""Registration methods of ``FrameSequence`` (``fs.register``, ``fs.apply_shifts``), mixed into the class."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .reader import RegisteredSequence


class RegistrationMixin:
    """Motion correction: estimate shifts on the block engine, apply them lazily."""

    def register(self, template=None, *, nonrigid=False, block_size=128, max_shift=None, bidi=None,
                 fill="edge", fslice=None, order=3, budget=None, engine=None) -> RegisteredSequence:
        """Register the frames (motion correction); return the lazy registered sequence.

        One streaming pass over the frames estimates the shifts (after a template is made from a
        sample of frames); the result's frames are computed when they are read, so nothing is
        written unless asked (``reg.to_tiff(...)``).

        Parameters
        ----------
        template : None, 2-D array, or an ``fslice``
            None: estimated (the most mutually correlated frames of a sample spread over the
            recording, averaged, refined by registering and re-averaging 3 times); an array of
            the frame's shape; or frames to average (an int, a tuple, a slice).
        nonrigid : bool
            Piecewise-rigid: overlapping blocks of ``block_size`` each registered around the rigid
            shift, weak blocks regularised by their neighbours, the shifts interpolated smoothly to
            every pixel.
        block_size : int or (int, int)
            Block size in pixels (``nonrigid=True`` only).
        max_shift : float or None
            Largest rigid shift searched, in pixels (default 10 % of the smaller side).
        bidi : None, 'auto' or float
            Line-scan phase between odd and even rows (bidirectional scanning), corrected first:
            None (off), ``'auto'`` (estimated from the template, sub-pixel) or pixels.
        fill : 'edge', 'nan' or float
            What pixels shifted in from outside the frame become (never wrap-around).
        fslice : fslice or None
            Register only these frames (the result has their number of frames).
        order : 1 or 3
            Interpolation when shifts are applied: 1 bilinear (fastest, slightly blurs), 3 cubic
            (default; rigid: Keys' cubic convolution, piecewise-rigid: scipy's cubic splines).
        budget : int or str or None
            Memory budget of the passes and of reading the result.
        engine : None, 'local', 'dask' or a distributed Client
            Where the shifts are estimated (block tasks on dask; the template is sent once).

        Returns
        -------
        RegisteredSequence
            Float32 frames, with ``.shifts`` ``(n, 2)`` (dy, dx: the content's displacement
            relative to the template), ``.block_shifts``, ``.block_centers``, ``.template``,
            ``.bidi_phase``, ``.metrics()`` and ``.save_shifts(path)``.

        Examples
        --------
        >>> import numpy as np
        >>> from scipy import ndimage
        >>> from imfun.fseq import FSeq_arr
        >>> base = ndimage.gaussian_filter(np.random.default_rng(0).standard_normal((64, 64)), 1)
        >>> fs = FSeq_arr(np.stack([ndimage.shift(base, (0, d), mode="nearest") for d in range(4)]))
        >>> reg = fs.register(base)
        >>> np.round(reg.shifts[:, 1], 1) + 0.0
        array([0., 1., 2., 3.])
        >>> reg.dtype, len(reg)
        (dtype('float32'), 4)
        """
        from .estimate import register

        return register(self, template, nonrigid=nonrigid, block_size=block_size, max_shift=max_shift,
                        bidi=bidi, fill=fill, fslice=fslice, order=order, budget=budget, engine=engine)

    def apply_shifts(self, shifts, *, block_shifts=None, block_size=None, bidi_phase=0.0, fill="edge",
                     order=3, budget=None) -> RegisteredSequence:
        """Apply known shifts (e.g. another channel's) lazily: a registered sequence of these frames.

        Parameters
        ----------
        shifts : (n_frames, 2) array, a :class:`~imfun.registration.Shifts` (from
            :func:`~imfun.registration.load_shifts`) or a registered sequence
            The content's displacement ``(dy, dx)`` of each frame; the frames are moved back by it.
            A ``Shifts`` or a registered sequence brings its block shifts and bidi phase.
        block_shifts, block_size : arrays, optional
            Piecewise-rigid shifts ``(n_frames, nby, nbx, 2)`` of blocks of ``block_size``.
        bidi_phase : float
            Line-scan phase to correct first (pixels).
        fill, order, budget
            As for :meth:`register`.

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> red = FSeq_arr(np.arange(12.0).reshape(2, 2, 3))
        >>> red.apply_shifts([[0, 0], [1, 0]], fill="nan")[1]
        array([[ 9., 10., 11.],
               [nan, nan, nan]], dtype=float32)
        """
        from .estimate import apply_shifts

        return apply_shifts(self, shifts, block_shifts=block_shifts, block_size=block_size,
                            bidi_phase=bidi_phase, fill=fill, order=order, budget=budget)
