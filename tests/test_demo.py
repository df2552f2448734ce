"""``make demo`` end to end into a temporary folder, and its event matching."""

from pathlib import Path

import numpy as np

from imfun import demo


def test_demo_runs_and_finds_the_spikes(tmp_path, capsys):
    res = demo.main(["--out", str(tmp_path / "out"), "--frames", "200", "--size", "128",
                     "--cells", "8", "--seed", "1", "--no-cli"])
    for key in ("tiff", "projections", "traces"):
        assert res[key].exists() and res[key].stat().st_size > 1000, key
    assert res["tiff"].parent == tmp_path / "out"
    assert res["recall"] >= 0.75 and res["precision"] >= 0.75
    assert res["correlation"] > 0.9
    assert res["cells_f1"] >= 0.9  # cells found without the ground truth, scored against it
    moved = res["registration"]  # registered mean image as crisp as the motion-free one, nearly
    assert moved["crispness_after"] >= 0.97 * moved["crispness_still"] > moved["crispness_before"]
    assert moved["shift_rmse"] < 0.1 and Path(moved["figure"]).exists()
    text = capsys.readouterr().out
    assert "frames: 200" in text and "recall" in text and "traces.png" in text and "F1" in text
    # opened through open_seq (the TIFF reader), which reads the axes from the file
    assert res["opened_with"] == "open_seq"
    assert res["axes"][0] == (0.05, "s")
    assert res["axes"][1].unit == "µm" and abs(res["axes"][1].scale - 0.8) < 1e-6


def test_match_events_counts():
    true = np.array([1.0, 2.0, 3.0, 10.0])
    found = np.array([1.05, 2.9, 3.1, 6.0])
    # 1.0<->1.05 and 3.0<->2.9 (3.1 is then spare), 2.0 and 10.0 missed
    assert demo.match_events(true, found, tol=0.15) == (2, 2, 2)
    assert demo.match_events(true, np.array([]), tol=0.15) == (0, 4, 0)
    assert demo.match_events(np.array([]), found, tol=0.15) == (0, 0, 4)


def test_detect_events_separates_overlapping_transients():
    dt, tau = 0.05, 0.5
    t = np.arange(200) * dt
    spikes = [1.0, 1.4, 4.0, 7.5, 9.95]  # two close ones, one in the last frame
    trace = sum(np.where(t >= s, np.exp(-np.clip(t - s, 0, None) / tau), 0) for s in spikes)
    trace = trace + np.random.default_rng(0).normal(0, 0.01, len(t))
    (events,) = demo.detect_events(trace[None], dt, tau)
    np.testing.assert_allclose(events, spikes, atol=dt + 1e-9)
