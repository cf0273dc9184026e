"""What a benchmark leaves behind: its JSON, its plot, and a headline on stdout."""

from __future__ import annotations

import json

from evals.harness.plots import save_result


def test_save_result_writes_json_and_plot_and_prints_the_headline(tmp_path, capsys):
    plotted = []
    result = {"wer": {"a": 0.1}, "ms": {"a": 12.0}, "misheard": ["long detail"]}
    save_result(tmp_path, "bench", result, lambda r, path: plotted.append(path), ("wer", "ms"))
    assert json.loads((tmp_path / "bench.json").read_text()) == result
    assert plotted == [tmp_path / "bench.png"]
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0]) == {"wer": {"a": 0.1}, "ms": {"a": 12.0}}
    assert out[1].endswith("bench.json and " + str(tmp_path / "bench.png"))
