"""Turn stages read back from a server log, each session's first turn apart from the rest."""

from __future__ import annotations

from evals.harness.log_turns import main, read_turns, summarize_log

LOG = """\
19:59:39.587 INFO    -            eco1 ready on http://127.0.0.1:57291/
20:00:04.038 INFO    SmallWebRTC#0-849b turn latency {'vad': 200.5,'commit_to_audio_ms': 206.0}
20:00:04.201 WARNING -            Media stream error while reading the audio; clearing track.
20:00:17.689 INFO    SmallWebRTC#1-1b3e turn latency {'vad': 200.5,'commit_to_audio_ms': 100.0}
20:00:18.000 INFO    SmallWebRTC#1-1b3e turn latency {'vad': 200.0,'commit_to_audio_ms': 50.0}
20:00:19.000 INFO    SmallWebRTC#1-1b3e turn latency {'vad': 200.0,'commit_to_audio_ms': 70.0}
"""


def test_turns_are_read_per_session_and_split_first_from_later(tmp_path):
    log = tmp_path / "eco1.log"
    log.write_text(LOG)
    turns = read_turns(log)
    assert [(t["session"][-4:], t["turn"]) for t in turns] == [
        ("849b", 0), ("1b3e", 0), ("1b3e", 1), ("1b3e", 2),
    ]  # fmt: skip
    summary = summarize_log(log)
    assert summary["first_turns"]["turns"] == 2 and summary["later_turns"]["turns"] == 2
    assert summary["first_turns"]["stages"]["commit_to_audio_ms"]["p50"] == 153.0
    assert summary["later_turns"]["stages"]["commit_to_audio_ms"]["p50"] == 60.0


def test_the_command_compares_two_logs_and_writes_json(tmp_path, capsys):
    import json

    (tmp_path / "a.log").write_text(LOG)
    (tmp_path / "b.log").write_text(LOG.replace("206.0", "612.0").replace("100.0", "300.0"))
    out = tmp_path / "cut.json"
    assert (
        main([f"eco1={tmp_path / 'a.log'}", f"baseline={tmp_path / 'b.log'}", "--out", str(out)])
        == 0
    )
    result = json.loads(out.read_text())
    assert result["ratio_p50_first_turns"]["commit_to_audio_ms"] == round(153 / 456, 3)
    assert "eco1 first_turns (2)" in capsys.readouterr().out
