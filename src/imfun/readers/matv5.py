"""A validator of MATLAB v5 MAT-files: the whole element structure is checked before scipy reads it.

``scipy.io.loadmat`` trusts the sizes written in a v5 file; some damaged files
make it read outside its buffers and kill the interpreter.  :func:`scan_mat5`
walks every element of a file first and refuses, with a
:class:`~imfun.errors.CorruptFileError` that says where and what, anything
scipy could misread:

* the 128-byte header: text, version ``0x0100``, endian indicator ``IM``/``MI``;
* every tag (8 bytes, or the 4-byte *small data element* form), its type, and
  its size within the parent element, sub-elements padded to 8 bytes and
  filling their parent exactly;
* every ``miMATRIX``: array flags, dimensions, name, and by class the real and
  imaginary parts (byte counts equal to the product of the dimensions times
  the size of the stored type), character data, cell elements, struct and
  object field names and fields, sparse indices; cells and structs nested at
  most :data:`MAX_DEPTH` deep;
* every ``miCOMPRESSED`` element: inflated with zlib no further than the size
  its inner tag declares, which must not exceed :data:`MAX_RATIO` times the
  compressed size (more than deflate can reach: a zip bomb), and must be the
  size actually inflated.

Numeric data are never read (the file is memory-mapped), only sizes; compressed
variables are inflated one at a time.  ``deep=`` names the variables whose
contents are checked at once; of the others, compressed, only the header is
inflated and checked (as much as scipy reads of a variable it skips), and
:func:`check_variable` checks one before it is loaded.

Examples
--------
>>> import numpy as np, scipy.io, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), 'small.mat')
>>> scipy.io.savemat(path, {'img': np.zeros((3, 4), np.uint16), 'info': {'dt': 0.5}})
>>> [(v.name, v.class_name, v.dims) for v in scan_mat5(path)]
[('img', 'uint16', (3, 4)), ('info', 'struct', (1, 1))]
>>> from pathlib import Path
>>> data = bytearray(Path(path).read_bytes()); data[132:136] = b'\\xff\\xff\\xff\\x7f'
>>> with open(path, 'wb') as fh:
...     _ = fh.write(data)
>>> scan_mat5(path)
Traceback (most recent call last):
...
imfun.errors.CorruptFileError: ...small.mat: at offset 128: the element declares 2147483647 bytes ...
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from dataclasses import dataclass
from math import prod

import numpy as np

from ..errors import CorruptFileError

MAX_DEPTH = 32        # cells and structs nested deeper than this are refused
MAX_DIMS = 32         # dimensions of one array
MAX_RATIO = 1100      # deflate cannot inflate more than ~1032 times: a larger declared size is a lie
MAX_FIELD_LENGTH = 4096
MAX_EMPTY_STRUCTS = 4096  # entries of a struct array with no fields (they take no bytes)
HEADER = 128
HEAD_BYTES = 4096     # inflated to check the header of a compressed variable

# data types (miXXX) and their item sizes
MI_INT8, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32 = 1, 2, 3, 4, 5, 6
MI_SINGLE, MI_DOUBLE, MI_INT64, MI_UINT64 = 7, 9, 12, 13
MI_MATRIX, MI_COMPRESSED, MI_UTF8, MI_UTF16, MI_UTF32 = 14, 15, 16, 17, 18
NUMERIC_SIZES = {MI_INT8: 1, MI_UINT8: 1, MI_INT16: 2, MI_UINT16: 2, MI_INT32: 4, MI_UINT32: 4,
                 MI_SINGLE: 4, MI_DOUBLE: 8, MI_INT64: 8, MI_UINT64: 8}
CHAR_SIZES = {MI_INT8: 1, MI_UINT8: 1, MI_UINT16: 2, MI_UTF32: 4}
# array classes (mxXXX)
MX_CELL, MX_STRUCT, MX_OBJECT, MX_CHAR, MX_SPARSE = 1, 2, 3, 4, 5
CLASS_NAMES = {1: "cell", 2: "struct", 3: "object", 4: "char", 5: "sparse", 6: "double",
               7: "single", 8: "int8", 9: "uint8", 10: "int16", 11: "uint16", 12: "int32",
               13: "uint32", 14: "int64", 15: "uint64"}
NUMERIC_CLASSES = range(6, 16)


@dataclass(frozen=True)
class MatVariable:
    """A top-level variable of a v5 file, as :func:`scan_mat5` found it."""

    name: str
    class_name: str  # 'double', 'uint16', 'struct', 'cell', 'char', ...
    dims: tuple[int, ...]  # in MATLAB's (column-major) order
    logical: bool
    compressed: bool
    offset: int  # of its element in the file
    checked: bool  # contents checked too (else only the header)


class _Walker:
    """Checks elements in one buffer: the file, or one inflated miCOMPRESSED element."""

    def __init__(self, buf, order: str, where):
        self.buf, self.order, self.where = buf, order, where

    def fail(self, pos: int, what: str):
        raise CorruptFileError(f"{self.where(pos)}: {what}; the file is damaged or truncated")

    def u32(self, pos: int) -> int:
        return struct.unpack_from(self.order + "I", self.buf, pos)[0]

    def tag(self, pos: int, end: int, pad: bool = True, full: bool = False) -> tuple[int, int, int, int]:
        """``(type, nbytes, data start, next element)`` of the element at ``pos``; ``full``: the
        8-byte form only (scipy reads arrays' tags so)."""
        if end - pos < 8:
            self.fail(pos, f"an element tag needs 8 bytes but only {end - pos} remain")
        first = self.u32(pos)
        if first >> 16 and full:
            self.fail(pos, f"an array or variable has the tag {first:#010x}, which is no data type")
        if first >> 16:  # the small data element form: size, type and up to 4 bytes in 8
            mtype, nbytes = first & 0xFFFF, first >> 16
            if nbytes > 4:
                self.fail(pos, f"a small data element declares {nbytes} bytes (at most 4 fit)")
            return mtype, nbytes, pos + 4, pos + 8
        nbytes = self.u32(pos + 4)
        start = pos + 8
        stop = start + nbytes + ((-nbytes) % 8 if pad else 0)
        if stop > end:
            self.fail(pos, f"the element declares {nbytes} bytes but only {end - start} remain in "
                           f"{'its parent' if end < len(self.buf) else 'the file'}")
        return first, nbytes, start, stop

    def data(self, pos: int, end: int, types, what: str) -> tuple[int, int, int, int]:
        """A sub-element of one of ``types``: ``(type, nbytes, data start, next)``."""
        mtype, nbytes, start, stop = self.tag(pos, end)
        if mtype not in types:
            self.fail(pos, f"the {what} has data type {mtype}, not one of {sorted(types)}")
        return mtype, nbytes, start, stop

    def ints(self, pos: int, end: int, what: str) -> tuple[np.ndarray, int]:
        """An miINT32 sub-element as an int64 array, and the position after it."""
        _, nbytes, start, stop = self.data(pos, end, {MI_INT32}, what)
        if nbytes % 4:
            self.fail(pos, f"the {what} holds {nbytes} bytes, not a whole number of int32")
        values = np.frombuffer(self.buf, self.order + "i4", nbytes // 4, start)
        return values.astype(np.int64), stop

    # -- arrays ------------------------------------------------------------------------------
    def matrix(self, pos: int, end: int, depth: int, top: bool = False):
        """Check the miMATRIX element at ``pos``; its (class, dims, name, logical) and the end."""
        mtype, nbytes, start, stop = self.tag(pos, end, pad=not top, full=True)
        if mtype != MI_MATRIX:
            self.fail(pos, f"expected an array (miMATRIX, 14), found data type {mtype}")
        if nbytes == 0:  # an empty placeholder (MATLAB writes them for empty cells)
            if top:
                self.fail(pos, "a variable holds no bytes")
            return None, stop
        body_end = start + nbytes
        head = self.array_head(start, body_end)
        cls, dims, name, flags, p = head
        if depth > MAX_DEPTH and cls in (MX_CELL, MX_STRUCT, MX_OBJECT):
            self.fail(pos, f"cells or structs nested more than {MAX_DEPTH} deep")
        p = self.contents(p, body_end, cls, dims, flags, depth)
        if p != body_end:
            self.fail(p, f"the array {name!r} ends {body_end - p} bytes before its element does")
        return (cls, dims, name, bool(flags & 2)), stop

    def array_head(self, p: int, end: int):
        """Array flags, dimensions and name: ``(class, dims, name, flags, next position)``."""
        mtype, nbytes, start, p2 = self.tag(p, end)
        if mtype != MI_UINT32 or nbytes != 8:
            self.fail(p, f"array flags must be 8 bytes of uint32, found type {mtype} of {nbytes} bytes")
        word = self.u32(start)
        cls, flags = word & 0xFF, (word >> 8) & 0xFF
        if cls not in CLASS_NAMES:
            self.fail(start, f"unknown or unsupported MATLAB array class {cls}")
        dims, p3 = self.ints(p2, end, "dimensions")
        if not 2 <= len(dims) <= MAX_DIMS or dims.min() < 0:
            self.fail(p2, f"an array must have 2 to {MAX_DIMS} dimensions of size >= 0, not "
                          f"{dims[:MAX_DIMS + 1].tolist()}")
        mtype, nbytes, start, p4 = self.data(p3, end, {MI_INT8}, "array name")
        name = bytes(self.buf[start:start + nbytes]).decode("latin1")
        return cls, tuple(int(d) for d in dims), name, flags, p4

    def contents(self, p: int, end: int, cls: int, dims, flags: int, depth: int) -> int:
        n = prod(dims)
        if cls in NUMERIC_CLASSES:
            p = self.numeric(p, end, n, "real part")
            return self.numeric(p, end, n, "imaginary part") if flags & 8 else p
        if cls == MX_CHAR:
            return self.chars(p, end, n)
        if cls == MX_CELL:
            if n * 8 > end - p:
                self.fail(p, f"a cell array of {n} elements cannot fit in {end - p} bytes")
            for _ in range(n):
                p = self.matrix(p, end, depth + 1)[1]
            return p
        if cls == MX_SPARSE:
            return self.sparse(p, end, dims, flags)
        if cls == MX_OBJECT:
            p = self.data(p, end, {MI_INT8}, "class name")[3]
        return self.fields(p, end, n, depth)

    def numeric(self, p: int, end: int, n: int, what: str) -> int:
        mtype, nbytes, _, stop = self.data(p, end, NUMERIC_SIZES, what)
        size = NUMERIC_SIZES[mtype]
        if nbytes != n * size:
            self.fail(p, f"the {what} holds {nbytes} bytes, but {n} values of {size} bytes are "
                         f"{n * size}")
        return stop

    def chars(self, p: int, end: int, n: int) -> int:
        mtype, nbytes, start, stop = self.data(p, end, {*CHAR_SIZES, MI_UTF8, MI_UTF16}, "text")
        if mtype in CHAR_SIZES:
            count = nbytes / CHAR_SIZES[mtype]
        else:
            try:
                count = len(bytes(self.buf[start:start + nbytes]).decode(
                    "utf-8" if mtype == MI_UTF8 else "utf-16-le" if self.order == "<" else "utf-16-be"))
            except UnicodeDecodeError:
                self.fail(start, "the text is not valid UTF")
        if count != n:
            self.fail(p, f"the text holds {count:g} characters, but its dimensions say {n}")
        return stop

    def fields(self, p: int, end: int, n: int, depth: int) -> int:
        """Field name length, field names, then ``n`` entries of each field."""
        lengths, p = self.ints(p, end, "field name length")
        if len(lengths) != 1 or not 1 <= lengths[0] <= MAX_FIELD_LENGTH:
            self.fail(p, f"a field name length must be one int32 in 1..{MAX_FIELD_LENGTH}, not "
                         f"{lengths[:2].tolist()}")
        length = int(lengths[0])
        _, nbytes, start, p = self.data(p, end, {MI_INT8}, "field names")
        if nbytes % length:
            self.fail(start, f"{nbytes} bytes of field names are not a whole number of {length}")
        raw = bytes(self.buf[start:start + nbytes])
        names = [raw[i:i + length].split(b"\0", 1)[0] for i in range(0, nbytes, length)]
        if any(not name for name in names) or len(set(names)) < len(names):
            self.fail(start, f"empty or repeated field names {names}")
        entries = n * len(names)
        if (not names and n > MAX_EMPTY_STRUCTS) or entries * 8 > end - p:
            self.fail(p, f"a struct array of {n} entries of {len(names)} fields cannot fit in "
                         f"{end - p} bytes")
        for _ in range(entries):
            p = self.matrix(p, end, depth + 1)[1]
        return p

    def sparse(self, p: int, end: int, dims, flags: int) -> int:
        if len(dims) != 2:
            self.fail(p, f"a sparse array must have 2 dimensions, not {dims}")
        rows, p = self.ints(p, end, "sparse row indices")
        cols, p = self.ints(p, end, "sparse column starts")
        nnz = int(cols[-1]) if len(cols) else -1
        if (len(cols) != dims[1] + 1 or cols[0] != 0 or np.any(np.diff(cols) < 0) or nnz > len(rows)
                or np.any(rows[:nnz] < 0) or np.any(rows[:nnz] >= dims[0])):
            self.fail(p, "the indices of a sparse array do not fit its dimensions")
        parts = 2 if flags & 8 else 1
        for _ in range(parts):
            mtype, nbytes, _, _ = self.data(p, end, NUMERIC_SIZES, "sparse values")
            if nbytes // NUMERIC_SIZES[mtype] < nnz or nbytes % NUMERIC_SIZES[mtype]:
                self.fail(p, f"a sparse array of {nnz} values holds {nbytes} bytes of type {mtype}")
            p = self.tag(p, end)[3]
        return p


def _header(buf, path) -> str:
    """The byte order (``'<'`` or ``'>'``) from the 128-byte header."""
    if len(buf) < HEADER:
        raise CorruptFileError(f"{path}: a MATLAB v5 file starts with a 128-byte header, but the file "
                               f"holds {len(buf)} bytes; it is truncated")
    indicator = bytes(buf[126:128])
    if indicator not in (b"IM", b"MI"):
        raise CorruptFileError(f"{path}: at offset 126: the endian indicator is {indicator!r}, not "
                               "b'IM' or b'MI'; this is not a MATLAB v5 file or its header is damaged")
    order = "<" if indicator == b"IM" else ">"
    version = struct.unpack_from(order + "H", buf, 124)[0]
    if version != 0x0100:
        raise CorruptFileError(f"{path}: at offset 124: MAT-file version {version:#06x}, not 0x0100 "
                               "(MATLAB v5); the header is damaged")
    return order


def _inflate(buf, start: int, nbytes: int, order: str, where: str, head: bool = False) -> bytes:
    """Inflate one miCOMPRESSED element, no further than its inner tag declares (``head``:
    only its first HEAD_BYTES, as a prefix)."""
    d = zlib.decompressobj()
    # a header needs few compressed bytes (at worst a little more than it inflates to)
    packed = buf[start:start + (min(nbytes, 16 * HEAD_BYTES) if head else nbytes)]
    try:
        tag = d.decompress(packed, 8)
        if len(tag) < 8:
            raise CorruptFileError(f"{where}: the compressed element inflates to {len(tag)} "
                                   "bytes, too few for an element tag; the file is damaged")
        declared = 8 + struct.unpack_from(order + "I", tag, 4)[0]
        if declared > MAX_RATIO * nbytes + 64:
            raise CorruptFileError(
                f"{where}: {nbytes} compressed bytes declare {declared} bytes inflated, more "
                f"than deflate can make ({MAX_RATIO}x): refused as damaged (or a zip bomb)")
        if head:
            return tag + d.decompress(d.unconsumed_tail, min(declared, HEAD_BYTES) - 8)
        body = d.decompress(d.unconsumed_tail, declared - 8 + 1)  # one more byte: too long?
    except zlib.error as exc:
        raise CorruptFileError(f"{where}: the compressed element does not inflate ({exc}); the "
                               "file is damaged") from exc
    finally:
        packed.release()  # else a traceback keeps the memory map open
    out = tag + body
    if len(out) != declared or not d.eof:
        held = "more" if len(out) > declared or not d.eof else str(len(out))
        raise CorruptFileError(f"{where}: the compressed element declares {declared} bytes inflated "
                               f"but holds {held}; the file is damaged")
    return out


def _where(path, element: int | None = None):
    """Says where an offset is: in the file, or inside the compressed element at ``element``."""
    if element is None:
        return lambda pos: f"{path}: at offset {pos}"
    return lambda pos: f"{path}: at offset {pos} inside the compressed element at offset {element}"


def _compressed(buf, pos: int, order: str, path, deep) -> tuple[tuple, bool]:
    """Check the compressed variable at ``pos``: its header, and its contents when ``deep``
    accepts its name; ``((class, dims, name, logical), contents checked)``."""
    walker = _Walker(buf, order, _where(path))
    _, nbytes, start, _ = walker.tag(pos, len(buf), pad=False, full=True)
    if deep is not None:
        prefix = _inflate(buf, start, nbytes, order, _where(path)(pos), head=True)
        inner = _Walker(prefix, order, _where(path, pos))
        mtype, declared = inner.u32(0), inner.u32(4)
        if mtype != MI_MATRIX or declared == 0:
            inner.fail(0, f"a compressed variable must hold an array (miMATRIX, 14) of some bytes, "
                          f"not data type {mtype} of {declared} bytes")
        try:
            cls, dims, name, flags, _ = inner.array_head(8, min(8 + declared, len(prefix)))
            if not deep(name):
                return (cls, dims, name, bool(flags & 2)), False
        except CorruptFileError:
            if len(prefix) == 8 + declared:  # the whole element was there: damaged indeed
                raise
    inner = _inflate(buf, start, nbytes, order, _where(path)(pos))
    head, _ = _Walker(inner, order, _where(path, pos)).matrix(0, len(inner), 1, top=True)
    return head, True


def _scan(buf, path, deep) -> list[MatVariable]:
    order = _header(buf, path)
    walker = _Walker(buf, order, _where(path))
    out, pos, size = [], HEADER, len(buf)
    while size - pos >= 8 or (pos < size and any(buf[pos:size])):
        mtype, _, _, stop = walker.tag(pos, size, pad=False, full=True)
        if mtype == MI_COMPRESSED:
            head, checked = _compressed(buf, pos, order, path, deep)
        elif mtype == MI_MATRIX:
            (head, _), checked = walker.matrix(pos, size, 1, top=True), True
        else:
            walker.fail(pos, f"a variable must be an array (miMATRIX, 14) or compressed "
                             f"(miCOMPRESSED, 15), not data type {mtype}")
        cls, dims, name, logical = head
        out.append(MatVariable(name, CLASS_NAMES[cls], dims, logical, mtype == MI_COMPRESSED, pos,
                               checked))
        pos = stop
    return out


def _mapped(path, read):
    """``read(buffer)`` on the memory-mapped file."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            raise CorruptFileError(f"{path}: the file is empty")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                return read(view)
            finally:
                view.release()


def check_variable(path: str | os.PathLike, var: MatVariable) -> None:
    """Check the contents of one variable that :func:`scan_mat5` checked only the header of.

    Examples
    --------
    >>> import numpy as np, scipy.io, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'two.mat')
    >>> scipy.io.savemat(path, {'a': np.ones(3), 'b': np.zeros(4)}, do_compression=True)
    >>> a, b = scan_mat5(path, deep=lambda name: name == 'a')
    >>> a.checked, b.checked
    (True, False)
    >>> check_variable(path, b)
    """
    def read(buf):
        order = _header(buf, path)
        if var.compressed:
            _compressed(buf, var.offset, order, path, None)
        else:
            _Walker(buf, order, _where(path)).matrix(var.offset, len(buf), 1, top=True)

    _mapped(path, read)


def scan_mat5(path: str | os.PathLike, deep=None) -> list[MatVariable]:
    """Check the whole element structure of a MATLAB v5 file; return its top-level variables.

    Parameters
    ----------
    path : str or path-like
        A MATLAB v5 (or v6/v7, not 7.3) MAT-file.
    deep : callable or None
        ``deep(name)`` says whether the contents of a compressed variable are checked now;
        None: all are.  Of the others only the header is checked (see :func:`check_variable`).

    Returns
    -------
    list of MatVariable
        Name, MATLAB class, dimensions (MATLAB order), logical flag, whether
        compressed, and file offset of each variable, in file order.

    Raises
    ------
    CorruptFileError
        Anything that is not a well-formed v5 file, with the offset and what is wrong.

    Examples
    --------
    >>> import numpy as np, scipy.io, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'z.mat')
    >>> scipy.io.savemat(path, {'a': np.arange(6.0).reshape(2, 3)}, do_compression=True)
    >>> v, = scan_mat5(path)
    >>> v.name, v.class_name, v.dims, v.compressed
    ('a', 'double', (2, 3), True)
    """
    return _mapped(path, lambda buf: _scan(buf, path, deep))


__all__ = ["MAX_DEPTH", "MAX_RATIO", "MatVariable", "check_variable", "scan_mat5"]
