"""Voice activity detection and end-of-turn strategy, configured in one place."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn, SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState
from pipecat.turns.user_start import (
    TranscriptionUserTurnStartStrategy,
    VADUserTurnStartStrategy,
)
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from speech.barge_in import BargeInStartStrategy, PlaybackGate
from speech.onnx_sessions import packaged_model, shared_onnx_session
from speech.text_turns import TextAwareTurnStopStrategy

VADListener = Callable[[VADState, VADState], None]
VoiceListener = Callable[[], None]
# The loudness Pipecat's min_volume (0.6 of -110..-10 LUFS) asks of a 400 ms window, asked
# here of one 32 ms window: its smoothed 400 ms reading lags a voice's onset by ~160 ms.
VOICE_FLOOR_DBFS = -50.0
SILERO_MODEL = ("pipecat.audio.vad.data", "silero_vad.onnx")
SMART_TURN_MODEL = ("pipecat.audio.turn.smart_turn.data", "smart-turn-v3.2-cpu.onnx")


class _SileroOnSharedSession(SileroOnnxModel):
    """Silero's wrapper (it holds one stream's recurrent state) around the shared session."""

    def __init__(self) -> None:  # no super(): that would load a session of its own
        self.session = shared_onnx_session(packaged_model(*SILERO_MODEL))
        self.sample_rates = [8000, 16000]
        self.reset_states()


class ObservedSileroVAD(SileroVADAnalyzer):
    """Silero VAD on the process's shared ONNX session, telling listeners of every state
    change, STOPPING included.

    Pipecat announces only speech start and stop (after `stop_secs` of quiet); streaming ASR
    wants the first quiet frame too, to start its final pass while endpointing decides.
    Voice listeners hear of every voiced window (Silero's confidence, and loud enough in
    itself) while the VAD is still quiet: Pipecat's volume gate averages 400 ms and smooths
    it, so STARTING comes ~160 ms after the voice does, and a barge-in pause need not wait.
    Listeners run on the event loop, in the order they were added.
    """

    def __init__(self, *, sample_rate: int | None = None, params: VADParams | None = None):
        # SileroVADAnalyzer.__init__ would load a session per learner (speech/onnx_sessions.py
        # says why not); this sets what it sets, on the shared one.
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)
        self._model = _SileroOnSharedSession()
        self._windows_since_reset = 0
        self._low_confidence_windows = 0
        self._listeners: list[VADListener] = []
        self._voice_listeners: list[VoiceListener] = []
        self._voiced_while_quiet = False  # set on the analyzer's thread, read on the loop
        self._last_state = VADState.QUIET

    def add_listener(self, listener: VADListener) -> None:
        self._listeners.append(listener)

    def add_voice_listener(self, listener: VoiceListener) -> None:
        self._voice_listeners.append(listener)

    def voice_confidence(self, buffer) -> float:
        confidence = super().voice_confidence(buffer)
        if (
            self._voice_listeners
            and self._vad_state == VADState.QUIET
            and confidence >= self._params.confidence
            and window_dbfs(buffer) >= VOICE_FLOOR_DBFS
        ):
            self._voiced_while_quiet = True
        return confidence

    async def analyze_audio(self, buffer: bytes) -> VADState:
        state = await super().analyze_audio(buffer)
        if self._voiced_while_quiet:
            self._voiced_while_quiet = False
            for voice_listener in self._voice_listeners:
                voice_listener()
        if state != self._last_state:
            previous, self._last_state = self._last_state, state
            for listener in self._listeners:
                listener(previous, state)
        return state


def window_dbfs(buffer: bytes) -> float:
    """A 16-bit window's RMS level in dB below full scale (silence: -inf)."""
    samples = np.frombuffer(buffer, np.int16).astype(np.float64)
    rms = float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0
    return 20.0 * np.log10(rms / 32768.0) if rms > 0 else float("-inf")


def silero_vad(stop_secs: float, start_secs: float, confidence: float) -> ObservedSileroVAD:
    """Silero VAD (its ONNX model ships inside pipecat-ai)."""
    return ObservedSileroVAD(
        params=VADParams(stop_secs=stop_secs, start_secs=start_secs, confidence=confidence)
    )


class SharedSmartTurnAnalyzer(LocalSmartTurnAnalyzerV3):
    """Smart-turn v3 (bundled ONNX) on the process's shared session; per-learner state only."""

    def __init__(self, **kwargs) -> None:
        BaseSmartTurn.__init__(self, **kwargs)  # skips LocalSmartTurnAnalyzerV3's own load
        self._log_data = False
        self._session = shared_onnx_session(packaged_model(*SMART_TURN_MODEL))


def user_turn_strategies(
    smart_turn: bool,
    *,
    enable_interruptions: bool = True,
    speech_timeout_s: float = 0.6,
    text_grace_s: float | None = None,
    text_bare_grace_s: float = 0.6,
    fallback_s: float = 3.0,
    gate: PlaybackGate | None = None,
    barge_in_s: float = 0.7,
    min_barge_in_s: float = 0.5,
    vad: ObservedSileroVAD | None = None,
) -> UserTurnStrategies:
    """Smart-turn v3 (bundled ONNX) judges the end of a turn, or a plain silence timeout.

    text_grace_s: a finished sentence in the transcript also ends the turn, that long after
    it arrives (speech/text_turns.py), text_bare_grace_s after it when it has no end
    punctuation; None leaves smart-turn alone. fallback_s: the silence
    after which smart-turn ends a turn it judged incomplete. With interruptions on, the
    learner speaking over the tutor stops its speech (barge-in); with a playback `gate`,
    the tutor's audio pauses at once and only speech that is more than a backchannel, a
    noise or an echo stops it (speech/barge_in.py); given the `vad`, it pauses at the first
    voiced window instead of when the VAD confirms speech.
    """
    if smart_turn:
        analyzer = SharedSmartTurnAnalyzer(params=SmartTurnParams(stop_secs=fallback_s))
        if text_grace_s is not None:
            stop = [
                TextAwareTurnStopStrategy(
                    turn_analyzer=analyzer,
                    grace_s=text_grace_s,
                    bare_grace_s=text_bare_grace_s,
                    fallback_s=fallback_s,
                )
            ]
        else:
            stop = [TurnAnalyzerUserTurnStopStrategy(turn_analyzer=analyzer)]
    else:
        stop = [SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=speech_timeout_s)]
    if gate is not None and enable_interruptions:
        barge_in = BargeInStartStrategy(gate, barge_in_s=barge_in_s, min_barge_in_s=min_barge_in_s)
        if vad is not None:
            vad.add_listener(barge_in.on_vad_state)
            vad.add_voice_listener(barge_in.on_voice)
        return UserTurnStrategies(start=[barge_in], stop=stop)
    start = [
        VADUserTurnStartStrategy(enable_interruptions=enable_interruptions),
        TranscriptionUserTurnStartStrategy(enable_interruptions=enable_interruptions),
    ]
    return UserTurnStrategies(start=start, stop=stop)
