"""Voice activity detection and end-of-turn strategy, configured in one place."""

from __future__ import annotations

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.turns.user_start import (
    TranscriptionUserTurnStartStrategy,
    VADUserTurnStartStrategy,
)
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies


def silero_vad(stop_secs: float, start_secs: float, confidence: float) -> SileroVADAnalyzer:
    """Silero VAD (its ONNX model ships inside pipecat-ai)."""
    return SileroVADAnalyzer(
        params=VADParams(stop_secs=stop_secs, start_secs=start_secs, confidence=confidence)
    )


def user_turn_strategies(
    smart_turn: bool, *, enable_interruptions: bool = True, speech_timeout_s: float = 0.6
) -> UserTurnStrategies:
    """Smart-turn v3 (bundled ONNX) judges the end of a turn, or a plain silence timeout.

    With interruptions on, the learner speaking over the tutor stops its speech (barge-in).
    """
    if smart_turn:
        from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3

        stop = [TurnAnalyzerUserTurnStopStrategy(turn_analyzer=LocalSmartTurnAnalyzerV3())]
    else:
        stop = [SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=speech_timeout_s)]
    start = [
        VADUserTurnStartStrategy(enable_interruptions=enable_interruptions),
        TranscriptionUserTurnStartStrategy(enable_interruptions=enable_interruptions),
    ]
    return UserTurnStrategies(start=start, stop=stop)
