"""Fuzzing: mutated TIFF, MLF, MES (v5) and Leica XML bytes, opened and read.

A damaged file may open (with warnings) or fail with one of imfun's own
errors; it must never crash the interpreter, hang, leak a file, or raise
anything else.  Each format runs in its own subprocess (a segfault in a C
decoder then fails the test instead of killing pytest) under a memory limit
(a huge allocation becomes a ``MemoryError`` instead of swapping), and every
example is bounded in time by a timer signal.  The subprocess runs this very
file: ``python test_fuzz.py <format> <n_examples> <folder>``.

Two drivers: hypothesis (structured mutations aimed at headers, every
format) and atheris (coverage-guided libFuzzer mutations from the same seeds,
for the binary formats), each for a bounded number of runs.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE_SECONDS = 5.0     # per open + read
MEMORY_LIMIT = 3 * 1024**3  # address space of the fuzzing process
EXAMPLES = {"tiff": 120, "tiff-zlib": 80, "mlf": 120, "mes": 100, "leica": 100}
INTERESTING = (0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


class ExampleTimeout(BaseException):
    """Raised by the timer signal: a BaseException, so no ``except Exception`` in the library eats it."""


# -- the seeds: small valid files written with the real libraries ----------------------
def write_seed(fmt: str, folder: Path) -> tuple[Path, list[tuple[int, int]]]:
    """Write a small valid file; return it and the byte ranges worth mutating most (headers)."""
    sys.path.insert(0, str(HERE))
    import reliability_kit as kit

    if fmt in ("tiff", "tiff-zlib"):
        import tifffile

        path = folder / "seed.tif"
        data = kit.frames(4, 8, 10)
        if fmt == "tiff":
            tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TYX", "finterval": 0.1})
        else:
            tifffile.imwrite(path, data, compression="zlib")
        size = path.stat().st_size
        return path, [(0, 400), (size - 800, size)]  # the first IFD; the later IFDs are at the end
    if fmt == "mlf":
        path = folder / "seed.mlf"
        path.write_bytes(kit.mlf_bytes(kit.frames(3, 4, 5)))
        return path, [(0, 64), (0x8000, 0x8030), (0x10000, 0x10020)]
    if fmt == "mes":
        path, _ = kit.make_mes(folder, n=3, nl=4, ll=5, name="seed.mes")
        path = Path(path)
        return path, [(0, path.stat().st_size)]
    if fmt == "leica":
        kit.make_leica(folder / "leica", n=3)
        xml = folder / "leica" / "MetaData" / "Series001.xml"
        return xml, [(0, xml.stat().st_size)]
    raise ValueError(fmt)


# -- one example: mutate, open, read ------------------------------------------------
def mutate(data: bytes, edits, regions, cut) -> bytes:
    buf = bytearray(data)
    for kind, where, value in edits:
        lo, hi = regions[where[0] % len(regions)]
        hi = min(hi, len(buf))
        if hi <= lo:
            continue
        pos = lo + where[1] % (hi - lo)
        if kind == 0:  # one byte
            buf[pos] = value & 0xFF
        elif kind == 1:  # a 2- or 4-byte word, either byte order, with an interesting value
            word = INTERESTING[value % len(INTERESTING)]
            width = 4 if value & 0x100 else 2
            order = "little" if value & 0x200 else "big"
            buf[pos:pos + width] = (word & (2 ** (8 * width) - 1)).to_bytes(width, order)
        elif kind == 2:  # delete a few bytes
            del buf[pos:pos + 1 + value % 16]
        else:  # insert a few bytes
            buf[pos:pos] = bytes([value & 0xFF]) * (1 + value % 16)
    if cut is not None:
        buf = buf[:cut % (len(buf) + 1)]
    return bytes(buf)


def open_and_read(fmt: str, target: Path) -> None:
    """What a user does: open, ask the shape, read the first and last frames and a mean."""
    import numpy as np

    from imfun.fseq import open_seq
    from imfun.readers.leica import parse_leica_xml

    if fmt == "leica":
        parse_leica_xml(target)
        source = str(target.parent.parent / "Series001_t*_ch00.png")
    else:
        source = target
    with open_seq(source) as fs:
        n = len(fs)
        _ = repr(fs), fs.frame_shape, fs.meta["axes"], fs.frame_idx()
        np.asarray(fs[0])
        np.asarray(fs[n - 1])
        fs.mean_frame(fslice=(0, min(n, 3)))


def fuzz(fmt: str, n_examples: int, folder: Path) -> int:
    """Run the hypothesis loop; print a JSON summary; return an exit code."""
    import resource

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from imfun.errors import ImfunError

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    seed, regions = write_seed(fmt, folder)
    original = seed.read_bytes()
    outcomes: dict[str, int] = {}

    def on_alarm(signum, frame):
        raise ExampleTimeout(f"one open + read took more than {EXAMPLE_SECONDS} s")

    signal.signal(signal.SIGALRM, on_alarm)
    edit = st.tuples(st.integers(0, 3), st.tuples(st.integers(0, 7), st.integers(0, 2**31)),
                     st.integers(0, 2**16))

    @settings(max_examples=n_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(edits=st.lists(edit, min_size=1, max_size=6), cut=st.none() | st.integers(0, 2**20))
    def check(edits, cut):
        seed.write_bytes(mutate(original, edits, regions, cut))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            signal.setitimer(signal.ITIMER_REAL, EXAMPLE_SECONDS)
            try:
                open_and_read(fmt, seed)
                outcome = "opened"
            except ImfunError as exc:
                outcome = type(exc).__name__
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            gc.collect()  # a reader dropped without closing warns here
        leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
        assert not leaks, f"file left open: {leaks[0]}"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    check()
    print(json.dumps(outcomes))
    return 0


# -- the tests: one subprocess per format -------------------------------------------
@pytest.mark.parametrize("fmt", sorted(EXAMPLES))
def test_mutated_files_raise_only_imfun_errors(fmt, tmp_path):
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONFAULTHANDLER="1")
    proc = subprocess.run([sys.executable, __file__, fmt, str(EXAMPLES[fmt]), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env=env)
    report = proc.stderr[-4000:] + proc.stdout[-2000:]
    assert proc.returncode >= 0, f"the interpreter crashed (signal {-proc.returncode}):\n{report}"
    assert proc.returncode == 0, f"a mutated {fmt} file broke a promise:\n{report}"
    outcomes = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sum(outcomes.values()) >= EXAMPLES[fmt] // 2, outcomes


def fuzz_atheris(fmt: str, runs: int, folder: Path, seed_value: int = 1) -> int:
    """Coverage-guided fuzzing with atheris (libFuzzer) from the seed file; a crash,
    a hang (``-timeout``), a memory blow-up (``-rss_limit_mb``) or an exception that
    is not imfun's ends the process with a non-zero code."""
    import atheris

    with atheris.instrument_imports():
        import imfun.readers.mlf
        import imfun.readers.tiff  # noqa: F401
    from imfun.errors import ImfunError

    seed, _ = write_seed(fmt, folder)
    corpus = folder / "corpus"
    corpus.mkdir()
    (corpus / "seed").write_bytes(seed.read_bytes())

    def one_input(data: bytes) -> None:
        seed.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.suppress(ImfunError):
                open_and_read(fmt, seed)

    # a fixed seed: the same mutations every run, so CI is repeatable
    atheris.Setup([sys.argv[0], f"-runs={runs}", f"-seed={seed_value}", "-timeout=5", "-rss_limit_mb=3072",
                   f"-max_len={2 * seed.stat().st_size}", str(corpus)], one_input)
    atheris.Fuzz()
    return 0


ATHERIS_RUNS = {"mlf": 300, "tiff": 200}


@pytest.mark.parametrize("fmt", sorted(ATHERIS_RUNS))
def test_atheris_coverage_guided(fmt, tmp_path):
    pytest.importorskip("atheris", reason="atheris (the test extra) is not installed")
    proc = subprocess.run([sys.executable, __file__, "atheris", fmt, str(ATHERIS_RUNS[fmt]), str(tmp_path)],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)
    report = proc.stderr[-4000:]
    assert proc.returncode == 0, f"atheris found a broken promise in {fmt}:\n{report}"
    assert "Done" in proc.stderr, report  # libFuzzer finished its runs


if __name__ == "__main__":
    if sys.argv[1] == "atheris":
        sys.exit(fuzz_atheris(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]), *map(int, sys.argv[5:6])))
    sys.exit(fuzz(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])))
