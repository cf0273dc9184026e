"""End of turn from sound and words (speech/text_turns.py), with smart-turn saying INCOMPLETE."""

from __future__ import annotations

import asyncio
import time

import pytest
from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer, BaseTurnParams, EndOfTurnState
from pipecat.frames.frames import (
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.utils.asyncio.task_manager import TaskManager, TaskManagerParams

from speech.text_turns import TextAwareTurnStopStrategy, finished_sentence, trails_off


@pytest.mark.parametrize(
    ("text", "finished"),
    [
        ("What is Newton's first law?", True),
        ("What force keeps the Moon in orbit around the Earth?", True),
        ("Tell me about photosynthesis.", True),
        ("What is the...", False),
        ("What is the", False),
        ("and um", False),
        ("Um.", False),
        ("So what is the speed of", False),
        ("Why is the sky blue", False),  # no end punctuation: the ASR heard no sentence end
        ("Is it?", False),  # too short to trust
        ("How do plants?", False),  # Whisper's "?" on a pause before the verb
        # Open-looking last words that end a question: it must not wait for the fallback.
        ("Where does rain come from?", True),
        ("What are clouds made of?", True),
        ("What are you talking about?", True),
        ("Hold on. Why is that?", True),
        ("What happens after that?", True),
        ("Can you tell me more?", True),
        ("What do you mean?", True),
        ("What is the speed of?", False),  # a noun before "of": the object is still to come
        ("I think that.", False),
        ("Why does that?", False),  # "Why does the … moon change shape?" misheard at the pause
        ("I mean.", False),
    ],
)
def test_finished_sentences(text, finished):
    assert finished_sentence(text) is finished


class IncompleteAnalyzer(BaseTurnAnalyzer):
    """Smart-turn as it judged the flat-ending questions: always incomplete."""

    @property
    def speech_triggered(self) -> bool:
        return True

    @property
    def params(self) -> BaseTurnParams:
        return BaseTurnParams()

    def append_audio(self, buffer: bytes, is_speech: bool) -> EndOfTurnState:
        return EndOfTurnState.INCOMPLETE

    async def analyze_end_of_turn(self):
        return EndOfTurnState.INCOMPLETE, None

    def update_vad_start_secs(self, vad_start_secs: float) -> None:
        pass

    def clear(self) -> None:
        pass


async def watched(analyzer, **kwargs) -> tuple[TextAwareTurnStopStrategy, list[float]]:
    """The strategy over `analyzer`, set up, and the times at which it ends the turn."""
    manager = TaskManager()
    manager.setup(TaskManagerParams(loop=asyncio.get_running_loop()))
    strategy = TextAwareTurnStopStrategy(turn_analyzer=analyzer, **kwargs)
    await strategy.setup(
        FrameProcessorSetup(clock=None, task_manager=manager, pipeline_worker=None)
    )
    ended: list[float] = []

    @strategy.event_handler("on_user_turn_stopped")
    async def on_stopped(_strategy, _params):
        ended.append(time.monotonic())

    return strategy, ended


async def stopped_after(frames, grace_s=0.2, wait_s=1.0) -> float | None:
    """Seconds from the last frame to the strategy's end of turn, or None if it never ended."""
    strategy, ended = await watched(IncompleteAnalyzer(), grace_s=grace_s)
    for frame in frames:
        await strategy.process_frame(frame)
    last = time.monotonic()
    await asyncio.sleep(wait_s)
    await strategy.cleanup()
    return ended[0] - last if ended else None


def vad_stop() -> VADUserStoppedSpeakingFrame:
    return VADUserStoppedSpeakingFrame(stop_secs=0.2, timestamp=time.time())


def heard(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text=text, user_id="learner", timestamp="")


async def test_a_finished_question_ends_the_turn_after_the_grace():
    frames = [VADUserStartedSpeakingFrame(), vad_stop(), heard("What is Newton's first law?")]
    delay = await stopped_after(frames)
    assert delay is not None and 0.15 <= delay <= 0.5


async def test_a_question_finished_after_a_pause_ends_the_turn():
    """The second segment alone ("what gravity is?") trails off on "is"; the turn's words
    ("Can you tell me what gravity is?") are a finished question."""
    frames = [
        VADUserStartedSpeakingFrame(), vad_stop(), heard("Can you tell me"),
        VADUserStartedSpeakingFrame(), vad_stop(), heard("what gravity is?"),
    ]  # fmt: skip
    delay = await stopped_after(frames)
    assert delay is not None and delay <= 0.5


async def test_whispers_thank_you_after_a_trailing_phrase_does_not_finish_it():
    """Seen in eval turn-taking: "And what about the..." then, over noise, "Thank you."."""
    frames = [
        VADUserStartedSpeakingFrame(), vad_stop(), heard("And what about the..."),
        VADUserStartedSpeakingFrame(), vad_stop(), heard("Thank you."),
    ]  # fmt: skip
    assert await stopped_after(frames) is None


async def test_a_trailing_transcript_waits_for_smart_turn():
    frames = [VADUserStartedSpeakingFrame(), vad_stop(), heard("What is the...")]
    assert await stopped_after(frames) is None


async def test_speech_after_the_transcript_cancels_the_early_end():
    frames = [
        VADUserStartedSpeakingFrame(), vad_stop(), heard("What is the speed of light?"),
        VADUserStartedSpeakingFrame(),
    ]  # fmt: skip
    assert await stopped_after(frames) is None


async def test_words_without_end_punctuation_end_the_turn_after_a_longer_grace():
    """Seen in eval turn-taking: "Why does that?" then, over noise, "will change shape" with
    no punctuation waited for the 3 s fallback."""
    frames = [
        VADUserStartedSpeakingFrame(), vad_stop(), heard("Why does that?"),
        VADUserStartedSpeakingFrame(), vad_stop(), heard("will change shape"),
    ]  # fmt: skip
    delay = await stopped_after(frames)
    assert delay is not None and 0.5 <= delay <= 0.9
    trailing = [VADUserStartedSpeakingFrame(), vad_stop(), heard("so what is the speed of")]
    assert await stopped_after(trailing) is None
    assert (
        await stopped_after([VADUserStartedSpeakingFrame(), vad_stop(), heard("the moon")]) is None
    )


class CompleteAnalyzer(IncompleteAnalyzer):
    """Smart-turn calling a pause to think the end of the turn ("What is … the speed of light")."""

    async def analyze_end_of_turn(self):
        return EndOfTurnState.COMPLETE, None


@pytest.mark.parametrize(
    ("text", "trailing"),
    [
        ("What is", True), ("How do plants", True), ("Can you tell me", True),
        ("What happens when", True), ("So if the Moon is", True), ("What is, um,", True),
        ("What is photosynthesis?", False), ("Tell me what a food chain is.", False),
        ("Why do birds migrate?", False), ("How do magnets work?", False),
        ("I want to know what an atom is.", False), ("Can you tell me where the heart is?", False),
        ("So what the moon is?", True), ("And what the answer is?", True),
    ],
)  # fmt: skip
def test_transcripts_that_stop_mid_phrase(text, trailing):
    assert trails_off(text) is trailing


async def ended_with_smart_turn_complete(text: str, finalized: bool = True) -> bool:
    strategy, ended = await watched(CompleteAnalyzer(), grace_s=0.2)

    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.process_frame(vad_stop())
    await asyncio.sleep(0.05)  # the wait for a transcript (no STT latency known: none) ends
    await strategy.process_frame(
        TranscriptionFrame(text=text, user_id="learner", timestamp="", finalized=finalized)
    )
    await asyncio.sleep(0.5)
    held = strategy.held_by_text
    await strategy.cleanup()
    return bool(ended) and held == 0


async def test_smart_turns_complete_is_held_while_the_words_trail_off():
    assert not await ended_with_smart_turn_complete("What is")  # a pause to think
    assert await ended_with_smart_turn_complete("What is the speed of light?")


async def test_a_transcript_after_the_wait_for_one_is_held_too():
    # Whisper's streaming passes are not marked final: Pipecat ends such a turn at once.
    assert not await ended_with_smart_turn_complete("How do plants?", finalized=False)
    assert await ended_with_smart_turn_complete("How do plants grow?", finalized=False)


async def test_a_held_turn_still_ends_at_the_silence_fallback():
    from pipecat.frames.frames import InputAudioRawFrame

    class SilenceReached(CompleteAnalyzer):
        def append_audio(self, buffer: bytes, is_speech: bool) -> EndOfTurnState:
            return EndOfTurnState.COMPLETE  # the fallback's silence has passed

    strategy, ended = await watched(SilenceReached(), grace_s=0.2)

    for frame in (VADUserStartedSpeakingFrame(), vad_stop(),
                  TranscriptionFrame(text="What is", user_id="learner", timestamp="",
                                     finalized=True)):  # fmt: skip
        await strategy.process_frame(frame)
    assert not ended and strategy.held_by_text == 1
    await strategy.process_frame(InputAudioRawFrame(audio=b"\0" * 640, sample_rate=16000,
                                                    num_channels=1))  # fmt: skip
    await asyncio.sleep(0.05)
    await strategy.cleanup()
    assert ended


async def test_a_held_turn_ends_at_the_fallback_after_the_learner_stopped():
    """Smart-turn forgets a turn once it has said complete, so its silence fallback never
    comes: a held turn waited for Pipecat's 5 s safety net (5.3 s in eval turn-taking)."""
    strategy, ended = await watched(CompleteAnalyzer(), grace_s=0.2, fallback_s=0.5)

    trailing = TranscriptionFrame(
        text="So if the Moon is", user_id="l", timestamp="", finalized=True
    )
    for speech_again in (False, True):
        ended.clear()
        await strategy.process_frame(VADUserStartedSpeakingFrame())
        stopped = time.monotonic() - 0.2  # vad_stop(): the learner went quiet 0.2 s ago
        await strategy.process_frame(vad_stop())
        await strategy.process_frame(trailing)
        if speech_again:
            await asyncio.sleep(0.1)
            await strategy.process_frame(VADUserStartedSpeakingFrame())  # "… far away"
            await asyncio.sleep(0.6)
            assert not ended
        else:
            await asyncio.sleep(0.6)
            assert ended and 0.45 <= ended[0] - stopped <= 0.6, ended
    await strategy.cleanup()
