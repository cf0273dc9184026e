"""The motion benchmark runs end to end and scores both lip-sync methods."""

import json

from agent.cli import main


def test_eval_motion_writes_json_and_png(tmp_path):
    assert main(["eval", "motion", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "motion.json").read_text())
    for key in ("frame_compute_ms", "motion_lag_ms", "av_sync_ms"):
        assert set(result[key]) == {"p50", "p95"} and result[key]["p95"] >= result[key]["p50"] >= 0
    assert result["frames"] > 60 * 15  # eight sentences, two seconds or more each
    # The alignment-driven mouth follows the phonemes better than loudness does.
    assert result["jaw_correlation"]["eco1"] > result["jaw_correlation"]["amplitude_baseline"]
    assert (
        result["jaw_onset_ms"]["eco1"]["p50"] < result["jaw_onset_ms"]["amplitude_baseline"]["p50"]
    )
    assert (tmp_path / "motion.png").stat().st_size > 10_000
