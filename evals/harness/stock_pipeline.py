"""The baseline: a stock Pipecat 1.14 voice pipeline with the same models as Eco-1.

Segmented WhisperSTTService, Pipecat's default user turn (Silero VAD + smart-turn v3 with
default parameters) and PiperTTSService with sentence aggregation, as a Pipecat user would
assemble them. Pipecat has no in-process llama.cpp service, so the LLM stage reuses the
project's embedded backend; the comparison is about the voice pipeline around it.

Run as a server: `python -m evals.harness.stock_pipeline --port N`.
"""

from __future__ import annotations

import argparse
import sys

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.observers.base_observer import BaseObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.transports.base_transport import BaseTransport

from agent.backends.base import ChatBackend
from agent.config import Settings, load_settings
from agent.turn.service import TutorLLMService
from speech.assets import piper_voice_file, whisper_model_dir


def build_stock_worker(
    *,
    transport: BaseTransport,
    settings: Settings,
    backend: ChatBackend,
    observers: list[BaseObserver],
    send_motion=None,  # the stock pipeline has no avatar
    on_motion_lag=None,
    context_provider=None,
    **_tutor_only,  # faults, the controller: parts of Eco-1's pipeline, not the stock one
) -> PipelineWorker:
    stt = WhisperSTTService(
        device="cpu" if settings.asr.device == "cpu" else "auto",
        compute_type=settings.asr.compute_type,
        settings=WhisperSTTService.Settings(model=str(whisper_model_dir(settings.asr.model_path))),
    )
    voice = piper_voice_file(settings.tts.voice_path)
    tts = PiperTTSService(
        download_dir=voice.parent, settings=PiperTTSService.Settings(voice=voice.stem)
    )
    llm = TutorLLMService(
        backend,
        system_prompt=settings.llm.system_prompt,
        max_tokens=settings.llm.max_tokens,
        temperature=settings.llm.temperature,
    )
    context = LLMContext()
    user_turns, assistant_turns = LLMContextAggregatorPair(
        context, user_params=LLMUserAggregatorParams(vad_analyzer=SileroVADAnalyzer())
    )
    pipeline = Pipeline(
        [transport.input(), stt, user_turns, llm, tts, transport.output(), assistant_turns]
    )
    return PipelineWorker(pipeline, params=PipelineParams(enable_metrics=True), observers=observers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="stock Pipecat baseline server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    import uvicorn

    from agent.edge.app import create_app
    from agent.edge.serve import configure_logging

    # aiortc's own jitter buffer, as a stock SmallWebRTC server has it
    stock_transport = {"server": {"audio_jitter_packets": 4}}
    settings = load_settings(overrides={"host": args.host, "port": args.port, **stock_transport})
    configure_logging(settings.log_level)
    app = create_app(settings, build_worker=build_stock_worker)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
