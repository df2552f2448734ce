"""Thousands of damaged MATLAB v5 MES files, listed, opened and read in child processes.

A damaged file may open, or fail with one of imfun's own errors; it must never
kill the interpreter (scipy.io.loadmat dies with SIGSEGV on some damaged v5
files unless :mod:`imfun.readers.matv5` refuses them first: 25 of these 3000
mutants did, and 8 more raised errors other than imfun's, before it).  The mutants are
made, seeded and reproducible, from v5 MES files written by the test helpers:
bit flips, byte runs, truncations and edits of the size fields of element tags.
They are read in a few child processes (this file run as ``python
test_mes_mutations.py worker``: paths on stdin, one JSON line per file on
stdout), so a crash loses nothing: the file after the last answer is the one
that killed the child, and a new child goes on with the rest.

``python test_mes_mutations.py measure`` prints the outcomes for the current code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_MUTANTS = 3000
CHILDREN = 2
SEED = 20261201
FILE_SECONDS = 10.0          # per list + open + read in the child
MEMORY_LIMIT = 2 * 1024**3  # address space of a child: a huge allocation is a MemoryError
MI_TYPES = range(1, 19)      # miINT8 ... miUTF32


# -- seeds: v5 MES files as the test helpers write them -----------------------------------------
def write_seeds(folder: Path) -> list[Path]:
    """One-record and three-record MES files, uncompressed and compressed (miCOMPRESSED)."""
    import scipy.io

    sys.path[:0] = [str(HERE), str(HERE.parent / "readers")]
    import reliability_kit as kit
    import test_mes

    one, _ = kit.make_mes(folder, n=3, nl=4, ll=5, name="one.mes")
    variables, *_ = test_mes.make_content()
    three = test_mes.write_v5(folder / "three.mes", variables)
    seeds = [Path(one), Path(three)]
    for path in list(seeds):
        content = scipy.io.loadmat(path, appendmat=False)
        content = {k: v for k, v in content.items() if not k.startswith("__")}
        packed = path.with_name(f"{path.stem}_z.mes")
        scipy.io.savemat(packed, content, appendmat=False, format="5", do_compression=True)
        seeds.append(packed)
    return seeds


# -- mutations ------------------------------------------------------------------------------
def size_fields(data: bytes) -> list[tuple[int, int]]:
    """``(offset, width)`` of what looks like the size field of an element tag (tags sit at
    multiples of 8 after the 128-byte header; a small element keeps its size in 2 bytes)."""
    words = np.frombuffer(data[128: 128 + (len(data) - 128) // 8 * 8], "<u4").reshape(-1, 2)
    offsets = 128 + 8 * np.arange(len(words))
    full = np.isin(words[:, 0], MI_TYPES)
    small = np.isin(words[:, 0] & 0xFFFF, MI_TYPES) & np.isin(words[:, 0] >> 16, [1, 2, 3, 4])
    return ([(int(o) + 4, 4) for o in offsets[full]]
            + [(int(o) + 2, 2) for o in offsets[small]])


def mutate(data: bytes, fields: list[tuple[int, int]], i: int) -> bytes:
    """Mutant ``i`` of ``data`` (reproducible from SEED and i)."""
    rng = np.random.default_rng([SEED, i])
    buf = bytearray(data)
    kind = i % 5
    if kind == 0:  # bit flips
        for pos in rng.integers(0, len(buf), rng.integers(1, 5)):
            buf[pos] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:  # a run of bytes: random, zeros, ones or one repeated byte
        n = int(rng.integers(1, 33))
        pos = int(rng.integers(0, len(buf) - n))
        fill = [rng.integers(0, 256, n, dtype=np.uint8).tobytes(), b"\0" * n, b"\xff" * n,
                bytes([int(rng.integers(0, 256))]) * n][int(rng.integers(0, 4))]
        buf[pos:pos + n] = fill
    elif kind == 2:  # truncation
        del buf[int(rng.integers(0, len(buf))):]
    else:  # the size field of a tag (kind 4: two of them)
        for _ in range(kind - 2):
            pos, width = fields[int(rng.integers(0, len(fields)))]
            old = int.from_bytes(buf[pos:pos + width], "little")
            top = 2 ** (8 * width) - 1
            new = [0, old + 1, old - 1, old + 8, old - 8, 2 * old, top, top // 2, top // 2 + 1,
                   len(buf), int(rng.integers(0, top))][int(rng.integers(0, 11))]
            buf[pos:pos + width] = (new & top).to_bytes(width, "little")
    return bytes(buf)


def write_mutants(folder: Path, n: int = N_MUTANTS) -> list[Path]:
    seeds = write_seeds(folder)
    originals = [(s.read_bytes(), s) for s in seeds]
    fields = [size_fields(data) for data, _ in originals]
    out = folder / "mutants"
    out.mkdir()
    paths = []
    for i in range(n):
        j = i % len(originals)
        data, seed = originals[j]
        path = out / f"{i:05d}_{seed.stem}.mes"
        path.write_bytes(mutate(data, fields[j], i // len(originals)))
        paths.append(path)
    return paths


# -- the child: list, open, read ------------------------------------------------------------
class FileTimeout(BaseException):
    """Raised by the timer signal: no ``except Exception`` in the library eats it."""


def open_and_read(path: str) -> str:
    """What a user does; the outcome: 'opened' or the name of the exception."""
    from imfun.errors import ImfunError
    from imfun.fseq import open_seq
    from imfun.readers.mes import list_mes_records

    try:
        list_mes_records(path)
        with open_seq(path) as fs:
            np.asarray(fs[0])
            np.asarray(fs[len(fs) - 1])
        return "opened"
    except ImfunError as exc:
        return type(exc).__name__
    except Exception as exc:  # a promise broken: reported, not raised
        return f"other {type(exc).__name__}: {exc}"[:300]


def worker() -> int:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash writes no core file

    def on_alarm(signum, frame):
        raise FileTimeout

    signal.signal(signal.SIGALRM, on_alarm)
    warnings.simplefilter("ignore")
    for line in sys.stdin:
        path = line.strip()
        signal.setitimer(signal.ITIMER_REAL, FILE_SECONDS)
        try:
            outcome = open_and_read(path)
        except FileTimeout:
            outcome = "timeout"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        print(json.dumps([path, outcome]), flush=True)
    return 0


# -- the parent: children over batches, a new child after each crash -------------------------
def run_batch(paths: list[str]) -> tuple[dict[str, str], list[tuple[str, int]]]:
    """Outcomes by path, and ``(path, signal)`` of the files that killed a child."""
    outcomes: dict[str, str] = {}
    crashes: list[tuple[str, int]] = []
    todo = list(paths)
    while todo:
        proc = subprocess.run([sys.executable, __file__, "worker"], input="\n".join(todo) + "\n",
                              capture_output=True, text=True, timeout=600,
                              env=dict(os.environ, PYTHONHASHSEED="0"))
        for line in proc.stdout.splitlines():
            path, outcome = json.loads(line)
            outcomes[path] = outcome
        todo = [p for p in todo if p not in outcomes]
        if todo:  # the child died on the first file it did not answer
            assert proc.returncode != 0, proc.stderr[-2000:]
            crashes.append((todo[0], proc.returncode))
            outcomes[todo[0]] = f"crash {proc.returncode}"
            todo = todo[1:]
    return outcomes, crashes


def run_all(paths: list[Path]) -> tuple[dict[str, str], list[tuple[str, int]]]:
    from concurrent.futures import ThreadPoolExecutor

    batches = [[str(p) for p in paths[k::CHILDREN]] for k in range(CHILDREN)]
    with ThreadPoolExecutor(CHILDREN) as pool:
        results = list(pool.map(run_batch, batches))
    outcomes = {k: v for found, _ in results for k, v in found.items()}
    return outcomes, [c for _, crashes in results for c in crashes]


def tally(outcomes: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        key = outcome.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


# -- the test -------------------------------------------------------------------------------
def test_mutated_mes_files_never_crash(tmp_path):
    paths = write_mutants(tmp_path)
    assert len(paths) >= 3000
    outcomes, crashes = run_all(paths)
    assert not crashes, f"{len(crashes)} mutants killed the interpreter, e.g. {crashes[:5]}"
    broken = {p: o for p, o in outcomes.items() if o.startswith(("other", "timeout"))}
    assert not broken, f"{len(broken)} mutants raised other errors: {list(broken.items())[:5]}"
    counts = tally(outcomes)
    assert counts.get("CorruptFileError", 0) > len(paths) // 3, counts  # most damage is seen


def main(argv: list[str]) -> int:
    if argv[:1] == ["worker"]:
        return worker()
    if argv[:1] == ["measure"]:
        sys.path.insert(0, str(HERE.parent.parent / "src"))
        with tempfile.TemporaryDirectory() as folder:
            outcomes, crashes = run_all(write_mutants(Path(folder)))
            print(json.dumps(tally(outcomes)))
            print("crashes:", len(crashes), sorted({sig for _, sig in crashes}))
            for path, outcome in sorted(outcomes.items()):
                if outcome.startswith(("other", "timeout")):
                    print(Path(path).name, outcome)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
