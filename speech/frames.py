"""Frame types the speech package emits into the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipecat.frames.frames import DataFrame


@dataclass
class PhonemeAlignment:
    """One phoneme and how many output samples it lasts."""

    phoneme: str
    num_samples: int


@dataclass
class PhonemeAlignmentFrame(DataFrame):
    """Piper's per-phoneme sample counts for one synthesized audio chunk.

    The counts sum to the chunk's length in samples at `sample_rate`, which is what exact
    lip sync needs: the avatar maps each phoneme to a viseme on the audio clock.
    """

    context_id: str | None = None
    text: str = ""
    sample_rate: int = 22050
    alignments: list[PhonemeAlignment] = field(default_factory=list)
    # Seconds of TTS audio pushed toward the transport before this chunk's audio (set by the
    # avatar's stamper): the output transport re-chunks audio and drops context ids, so this
    # is how the motion stream finds where the chunk's audio starts.
    stream_offset_s: float | None = None

    @property
    def total_samples(self) -> int:
        return sum(item.num_samples for item in self.alignments)


@dataclass
class ProvisionalTranscriptFrame(DataFrame):
    """The final pass's text, ready before the turn commits (before or just after the VAD
    confirmed the end of speech, while the turn detector decides).

    The turn is not committed yet (speech may resume, smart-turn may wait): the LLM may
    read the prompt ahead on it, but nothing may be said from it. The planner fills in the
    action it would choose for a turn on this text.
    """

    text: str = ""
    likely_action: str | None = None


@dataclass
class SpeculativeClauseFrame(DataFrame):
    """The opening clause of an answer begun on a provisional transcript: the TTS may
    synthesize it ahead, and speaks it only if the committed answer opens with the same
    clause (agent/turn/speculation.py)."""

    text: str = ""


@dataclass
class FallbackFrame(DataFrame):
    """A stage failed and the tutor said something generic instead of going silent."""

    stage: str = ""  # "llm" or "tts"
    reason: str = ""
