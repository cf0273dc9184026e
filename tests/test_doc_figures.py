"""Figures the README and docs quote must be the ones in the results files they cite.

Each table below is read from the document and compared, cell by cell, with the JSON it
names; a re-run eval that leaves a doc behind fails here, naming the row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("commit_to_audio_ms", "v2v_ms")


def results(name: str) -> dict:
    return json.loads((ROOT / "evals" / "results" / name).read_text())


def table_row(document: str, first_cell: str) -> list[str]:
    """The cells after `first_cell` in the markdown table row that starts with it."""
    text = (ROOT / document).read_text()
    match = re.search(rf"^\| {re.escape(first_cell)} \|(.*)\|$", text, re.MULTILINE)
    assert match, f"{document}: no table row for {first_cell!r}"
    return [cell.strip() for cell in match.group(1).split("|")]


def stage_row(stages: dict, baseline: dict, ratios: dict, stage: str) -> list[str]:
    mine, stock = stages[stage], baseline[stage]
    return [f"{mine['p50']:.0f}", f"{mine['p95']:.0f}", f"{stock['p50']:.0f}",
            f"{stock['p95']:.0f}", f"{ratios[stage]:.2f}"]  # fmt: skip


def test_the_latency_doc_tables_match_latency_json():
    latency = results("latency.json")
    later = latency["later_turns"]
    for stage in ("vad", "asr_final", "turn_end", "llm_ttft", "tts_first", *STAGES):
        expected = stage_row(latency["stages"], latency["baseline"]["stages"],
                             latency["ratio_p50"], stage)  # fmt: skip
        assert table_row("docs/latency.md", stage) == expected, stage
    rows = (ROOT / "docs/latency.md").read_text().split("## Later turns of a session")[1]
    for stage in ("llm_ttft", "tts_first", *STAGES):
        expected = stage_row(later["eco1"]["stages"], later["baseline"]["stages"],
                             later["ratio_p50"], stage)  # fmt: skip
        assert f"| {stage} | {' | '.join(expected)} |" in rows, stage


def test_the_readme_latency_table_matches_latency_json():
    latency = results("latency.json")
    later = latency["later_turns"]
    for label, first, again in (
        ("Eco-1", latency["stages"], later["eco1"]["stages"]),
        ("stock Pipecat", latency["baseline"]["stages"], later["baseline"]["stages"]),
    ):
        text = (ROOT / "README.md").read_text()
        row = next(line for line in text.splitlines() if line.startswith(f"| {label}"))
        cells = [cell.strip() for cell in row.strip("|").split("|")][1:]
        assert cells == [f"{stages[s]['p50']:.0f}" for stages in (first, again) for s in STAGES]


def test_the_reliability_doc_quotes_the_soak_and_probes():
    reliability = results("reliability.json")
    soak = reliability["soak"]
    text = (ROOT / "docs/reliability.md").read_text()
    assert f"slope over the second half {soak['rss_slope_second_half_mb_per_session']} MB" in text
    assert f"{soak['sessions']} sessions in a row" in text
    assert f"{reliability['probe_replay']['as_documented']} of 10 answered as documented" in text
