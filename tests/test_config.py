"""The memory budget: per call, per ``with budget()`` block (this thread only), process-wide."""

import threading

import numpy as np

from imfun import config
from imfun.engine.blocks import ordered_map
from imfun.fseq import FSeq_arr


def test_with_budget_is_local_to_its_thread():
    seen = {}
    inside = threading.Event()
    done = threading.Event()

    def other():
        inside.wait(5)
        seen["other"] = config.get_budget()
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with config.budget("1 MiB"):
        inside.set()
        done.wait(5)
        seen["mine"] = config.get_budget()
    t.join()
    assert seen == {"mine": 1024**2, "other": config.DEFAULT_BUDGET}
    assert config.get_budget() == config.DEFAULT_BUDGET


def test_engine_threads_see_the_callers_budget():
    with config.budget("3 MiB"):
        got = [r for _, r in ordered_map(lambda i: config.get_budget(), [(i,) for i in range(6)], 3)]
    assert got == [3 * 1024**2] * 6


def test_budget_blocks_nest_and_set_budget_is_process_wide():
    old = config.get_budget()
    try:
        config.set_budget("10 MiB")
        with config.budget("2 MiB"):
            with config.budget("1 MiB"):
                assert config.get_budget() == 1024**2
            assert config.get_budget() == 2 * 1024**2
        assert config.get_budget() == 10 * 1024**2
        seen = []
        t = threading.Thread(target=lambda: seen.append(config.get_budget()))
        t.start()
        t.join()
        assert seen == [10 * 1024**2]
    finally:
        config.set_budget(old)


def test_a_tiny_budget_in_a_block_changes_blocks_not_results():
    fs = FSeq_arr(np.arange(600.0).reshape(6, 10, 10))
    with config.budget(1000):
        assert fs.plan().frames_per_block == 1
        np.testing.assert_array_equal(fs.mean_frame(), np.arange(600.0).reshape(6, 10, 10).mean(0))
