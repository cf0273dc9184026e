"""Assembles one tutor pipeline per connected client.

transport.input → streaming Whisper ASR → user turn (Silero VAD + smart-turn) → EFE planner
→ tutor LLM → Piper TTS (clause by clause) → transport.output → avatar motion → assistant context
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from pipecat.observers.base_observer import BaseObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMUserAggregatorParams
from pipecat.transports.base_transport import BaseTransport

from agent.backends.base import ChatBackend
from agent.config import Settings
from agent.session.user_turns import context_aggregators
from agent.turn.compute import TurnCompute
from agent.turn.continuation import ContinuationWatch
from agent.turn.prompt import HistoryLimits
from agent.turn.service import ContextProvider, TutorLLMService
from agent.tutoring.state import TutorState
from avatar.processor import AvatarMotionProcessor, SendMotion, SpeechClockStamper
from planner.processor import TutorPlannerProcessor
from speech.asr import SharedWhisperSTTService
from speech.barge_in import PlaybackGate, PlaybackTap
from speech.clauses import opening_clause
from speech.first_audio import FirstAudioGate
from speech.streaming_asr import StreamingWhisperSTTService
from speech.tts import AlignedPiperTTSService
from speech.turns import ObservedSileroVAD, silero_vad, user_turn_strategies


def build_tutor_worker(
    *,
    transport: BaseTransport,
    settings: Settings,
    backend: ChatBackend,
    observers: list[BaseObserver],
    send_motion: SendMotion | None = None,
    on_motion_lag: Callable[[float], None] | None = None,
    context_provider: ContextProvider | None = None,
    fault: Callable[[str], bool] | None = None,
    compute: TurnCompute | None = None,
    session_id: str = "",
) -> PipelineWorker:
    """The PipelineWorker for one learner; run it with a WorkerRunner, cancel it to end.

    With send_motion, an avatar motion stream (60 Hz JSON) follows the audio clock; with
    compute, the host's HLLM controller and knowledge base shape every answer.
    """
    vad = silero_vad(
        settings.turn.vad_stop_secs, settings.turn.vad_start_secs, settings.turn.vad_confidence
    )
    stt = speech_recognizer(settings, vad)
    # The answer's first clause gets the CPU: the LLM pauses while Piper speaks it.
    first_audio = FirstAudioGate() if settings.tts.first_clause_priority else None
    context = LLMContext()
    # Speech over the tutor pauses its audio at the output while it is judged.
    output = transport.output()
    gate = PlaybackGate() if settings.turn.judge_interruptions else None
    if gate is not None:
        output.write_audio_frame = gate.wrap(output.write_audio_frame)  # type: ignore[method-assign]
    user_turns, assistant_turns = _turn_aggregators(settings, vad, gate, context)
    tutor_state = TutorState()  # the session's lesson: the planner's beliefs, the concept
    llm = _tutor_llm(
        settings, backend, tutor_state,
        context_provider=context_provider, fault=fault, compute=compute,
        session_id=session_id, first_audio=first_audio,
    )  # fmt: skip
    vad.add_voice_listener(lambda: llm.continuation.voice_heard(time.monotonic()))
    tts = _piper(settings, fault, first_audio)
    perception = _perception(settings)
    planner = TutorPlannerProcessor(tutor_state.lesson, tutor_state.signals)
    stamp = [SpeechClockStamper()] if send_motion else []
    tap = [PlaybackTap(gate)] if gate is not None else []
    avatar = [AvatarMotionProcessor(send_motion, on_lag=on_motion_lag)] if send_motion else []
    pipeline = Pipeline(
        [
            transport.input(), *perception, stt, user_turns, planner, llm, tts,
            *stamp, *tap, output, *avatar, assistant_turns,
        ]
    )  # fmt: skip
    return PipelineWorker(
        pipeline,
        params=PipelineParams(enable_metrics=True),
        observers=observers,
        idle_timeout_secs=settings.server.session_idle_timeout_s,
        enable_rtvi=False,  # the client speaks Eco-1's protocol (docs/protocol.md), not RTVI
    )


def _turn_aggregators(
    settings: Settings, vad: ObservedSileroVAD, gate: PlaybackGate | None, context: LLMContext
):
    """The user turn (VAD, smart-turn, transcript, barge-in) and the assistant's context."""
    turn = settings.turn
    return context_aggregators(
        context,
        LLMUserAggregatorParams(
            vad_analyzer=vad,
            user_turn_strategies=user_turn_strategies(
                turn.smart_turn,
                enable_interruptions=turn.allow_interruptions,
                text_grace_s=turn.text_grace_s if turn.text_aware else None,
                text_bare_grace_s=turn.text_bare_grace_s,
                fallback_s=turn.fallback_s,
                gate=gate,
                barge_in_s=turn.barge_in_s,
                min_barge_in_s=turn.min_barge_in_s,
                vad=vad if turn.pause_on_voice else None,
            ),
        ),
    )


def _tutor_llm(
    settings: Settings,
    backend: ChatBackend,
    tutor_state: TutorState,
    *,
    context_provider: ContextProvider | None,
    fault: Callable[[str], bool] | None,
    compute: TurnCompute | None,
    session_id: str,
    first_audio: FirstAudioGate | None,
) -> TutorLLMService:
    """The turn's stage: curriculum, controller and model behind one frame processor."""
    llm, tts = settings.llm, settings.tts
    opening = partial(
        opening_clause,
        min_words=tts.clause_min_words,
        first_clause_words=tts.first_clause_words or None,
    )
    return TutorLLMService(
        backend,
        tutor_state=tutor_state,
        system_prompt=llm.system_prompt,
        max_tokens=llm.max_tokens,
        temperature=llm.temperature,
        context_provider=context_provider,
        first_token_timeout_s=llm.first_token_timeout_s,
        fault=fault,
        compute=compute,
        session_id=session_id,
        first_audio=first_audio,
        read_provisional=llm.read_provisional,
        history=HistoryLimits(llm.history_words, llm.answer_words, llm.fresh_topics),
        opening_clause=opening if llm.speculate else None,
        continuation=ContinuationWatch(
            window_s=settings.turn.continuation_window_s,
            fragment_window_s=settings.turn.continuation_fragment_window_s,
        ),
    )


def _piper(
    settings: Settings, fault: Callable[[str], bool] | None, first_audio: FirstAudioGate | None
) -> AlignedPiperTTSService:
    tts = settings.tts
    return AlignedPiperTTSService(
        voice_file=tts.voice_path,
        use_cuda=tts.use_cuda,
        threads=tts.piper_threads(),
        clause_min_words=tts.clause_min_words,
        first_clause_words=tts.first_clause_words,
        trim_first_lead=tts.trim_first_lead,
        fault=fault,
        first_audio=first_audio,
    )


def speech_recognizer(settings: Settings, vad: ObservedSileroVAD) -> SharedWhisperSTTService:
    """Streaming Whisper following the turn VAD (the default), or one pass per segment."""
    asr = settings.asr
    common = dict(
        model_dir=asr.model_path,
        device=asr.device,
        compute_type=asr.compute_type,
        no_speech_prob=asr.no_speech_prob,
        beam_size=asr.beam_size,
        workers=asr.workers,
        cpu_threads=asr.cpu_threads,
        window_s=asr.window_s,
    )
    if not asr.streaming:
        return SharedWhisperSTTService(**common)
    stt = StreamingWhisperSTTService(
        interim_interval_s=asr.interim_interval_s, interim_beam_size=asr.interim_beam_size, **common
    )
    stt.follow(vad)
    return stt


def _perception(settings: Settings) -> list:
    """The camera/mic perception stage, when enabled (the default)."""
    if not settings.perception.enabled:
        return []
    from perception.checkpoint import shared_model
    from perception.processor import PerceptionProcessor

    model = shared_model(settings.perception.checkpoint)
    return [PerceptionProcessor(model, fps=settings.perception.fps)]
