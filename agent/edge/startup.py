"""What the service loads and wires once, before the first learner: models, MCP tools,
the per-learner backend choice."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from agent.backends.base import ChatBackend
from agent.backends.factory import create_backend
from agent.config import Settings
from agent.session.metrics import ServiceMetrics
from tools.mcp_client import ToolSpec, TurnToolbox

WARM_UP_CLAUSE = (
    "Photosynthesis is the process by which green plants, algae and some bacteria use the "
    "energy of sunlight to turn water and carbon dioxide into sugar and oxygen, which feeds "
    "almost every living thing on our planet"
)


def warm_up_models(settings: Settings) -> None:
    """Load ASR, turn models, TTS and the embedded LLM once, before the first learner arrives.

    Whisper's first call allocates its working buffers and takes longest, so one call on a
    second of silence happens here rather than in a learner's first turn.
    """
    import numpy as np

    from speech.asr import shared_whisper_model, transcribe
    from speech.assets import piper_voice_file, whisper_model_dir
    from speech.tts import shared_piper_voice
    from speech.turns import SharedSmartTurnAnalyzer, silero_vad

    whisper = shared_whisper_model(
        whisper_model_dir(settings.asr.model_path),
        settings.asr.device,
        settings.asr.compute_type,
        settings.asr.workers,
        settings.asr.cpu_threads,
    )
    second = np.zeros(16000, np.int16)
    transcribe(whisper, second, 1, settings.asr.no_speech_prob)  # the full-window fallback
    transcribe(whisper, second, 1, settings.asr.no_speech_prob, window_s=settings.asr.window_s)
    silero_vad(0.2, 0.2, 0.5)  # creates the process's shared VAD session
    SharedSmartTurnAnalyzer()  # and the smart-turn one
    tts = settings.tts
    voice = shared_piper_voice(piper_voice_file(tts.voice_path), tts.use_cuda, tts.piper_threads())
    # A long clause grows Piper's ONNX arena to its working size now: otherwise it grows in
    # steps at the first long answers, which a memory soak reads as a leak.
    list(voice.synthesize(WARM_UP_CLAUSE))


def turn_toolbox(settings: Settings) -> TurnToolbox | None:
    """The external MCP tools the settings list, or None."""
    if not settings.tools.servers:
        return None
    specs = [
        ToolSpec(
            name=server.name,
            tool=server.tool,
            argument=server.argument,
            command=server.command,
            url=server.url,
            headers={"Authorization": f"Bearer {server.bearer_token}"}
            if server.bearer_token
            else {},
        )
        for server in settings.tools.servers
    ]
    return TurnToolbox(specs, settings.tools.turn_budget_s)


def session_backend(
    settings: Settings, metrics: ServiceMetrics, learner: str | None
) -> ChatBackend:
    """A learner with a stored delta gets their personal model; everyone else the default."""
    if learner is not None and settings.personalization.enabled:
        from agent.personalization.backend import PersonalizedBackend, SharedPersonalModel

        shared = SharedPersonalModel.shared(
            settings.personalization.store_dir, settings.personalization.key_env
        )
        shared.on_swap = metrics.personal_swap_ms.observe
        if shared.has(learner):
            return PersonalizedBackend(shared, learner)
    return create_backend(settings.llm)


async def warm_up_service(settings: Settings, host_compute) -> None:
    """Every model a first turn touches, loaded off the event loop."""
    await asyncio.to_thread(warm_up_models, settings)
    await asyncio.to_thread(host_compute)  # knowledge base, controller, tiers
    if settings.personalization.enabled:
        from agent.personalization.backend import SharedPersonalModel

        personal = settings.personalization
        await asyncio.to_thread(SharedPersonalModel.shared, personal.store_dir, personal.key_env)
    backend = create_backend(settings.llm)
    await backend.warm_up()
    await backend.close()


@asynccontextmanager
async def running(toolbox: TurnToolbox):
    await toolbox.start()
    try:
        yield toolbox
    finally:
        await toolbox.close()
