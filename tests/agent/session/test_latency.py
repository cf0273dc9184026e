"""Turn latency marks from real Pipecat frames, on a fake clock."""

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    LLMContextFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext

from agent.session.latency import STAGES, TurnLatencyObserver


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_one_turn_gives_every_stage():
    clock, records = Clock(), []

    async def on_turn(record):
        records.append(record)

    observer = TurnLatencyObserver("s1", on_turn, clock=clock)
    steps = [
        (0.00, VADUserStartedSpeakingFrame()),
        (1.50, VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=1001.45)),
        (1.80, TranscriptionFrame("What is gravity?", "u", "t")),
        (1.85, UserStoppedSpeakingFrame()),
        (1.86, LLMContextFrame(LLMContext())),
        (1.96, LLMTextFrame("Gravity")),
        (2.14, TTSAudioRawFrame(b"\0\0" * 240, 24000, 1)),
        (2.16, BotStartedSpeakingFrame()),
    ]
    for offset, frame in steps:
        clock.now = 1000.0 + offset
        await observer.observe(frame)
    assert len(records) == 1
    stages = records[0].stages
    assert set(stages) == set(STAGES)
    assert stages["vad"] == 250.0  # speech ended at 1001.25, VAD said so at 1001.50
    assert stages["asr_final"] == 300.0
    assert stages["turn_end"] == 350.0  # VAD stop to the learner's turn committed
    assert stages["llm_ttft"] == 100.0
    assert stages["tts_first"] == 180.0  # first token to first audio
    assert stages["commit_to_audio_ms"] == 310.0
    assert stages["v2v_ms"] == 910.0
    assert records[0].text == "What is gravity?"


async def test_bot_speech_without_a_learner_turn_is_not_a_turn():
    records = []

    async def on_turn(record):
        records.append(record)

    observer = TurnLatencyObserver("s1", on_turn)
    await observer.observe(BotStartedSpeakingFrame())
    assert records == []


async def test_second_turn_starts_fresh():
    clock, records = Clock(), []

    async def on_turn(record):
        records.append(record)

    observer = TurnLatencyObserver("s1", on_turn, clock=clock)
    for _ in range(2):
        for frame in (
            VADUserStartedSpeakingFrame(),
            VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=clock.now),
            UserStoppedSpeakingFrame(),
            BotStartedSpeakingFrame(),
        ):
            clock.now += 0.1
            await observer.observe(frame)
    assert [r.index for r in records] == [1, 2]
    assert "llm_ttft" not in records[1].stages  # marks from turn 1 did not leak
