"""Interruptions that are real (speech/barge_in.py): pause at once, go on after a
backchannel, a noise or an echo, stop for a barge-in."""

from __future__ import annotations

import asyncio

import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.turns.types import ProcessFrameResult

from speech.barge_in import BargeInStartStrategy, PlaybackGate, backchannel


class Recorder:
    def __init__(self, strategy: BargeInStartStrategy) -> None:
        self.started = 0
        self.resets = 0

        @strategy.event_handler("on_user_turn_started")
        async def started(_strategy, _params):
            self.started += 1

        @strategy.event_handler("on_reset_aggregation")
        async def reset(_strategy):
            self.resets += 1


def words(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text=text, user_id="learner", timestamp="")


async def tutor_speaking(barge_in_s: float = 0.5):
    gate = PlaybackGate()
    strategy = BargeInStartStrategy(
        gate, barge_in_s=barge_in_s, words_wait_s=0.1, no_words_wait_s=0.2
    )
    recorder = Recorder(strategy)
    await strategy.process_frame(BotStartedSpeakingFrame())
    return gate, strategy, recorder


def test_backchannels():
    for said in ("uh-huh", "Okay.", "yeah", "mm", "Mm-hmm.", "", "I see.", "Huh.", "Aha!"):
        assert backchannel(said), said
    for said in ("wait", "stop please", "what about friction?", "no, I mean the Moon", "Mom"):
        assert not backchannel(said), said


async def test_a_backchannel_pauses_the_tutor_and_it_goes_on():
    gate, strategy, recorder = await tutor_speaking()
    await strategy.process_frame(VADUserStartedSpeakingFrame())
    assert gate.paused  # at once, before any words
    await strategy.process_frame(VADUserStoppedSpeakingFrame())
    result = await strategy.process_frame(words("Uh-huh."))
    assert result is ProcessFrameResult.CONTINUE
    assert not gate.paused and recorder.started == 0 and recorder.resets == 1
    assert gate.counts.resumed == 1


async def test_a_cough_with_no_words_lets_the_tutor_go_on():
    gate, strategy, recorder = await tutor_speaking()
    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.process_frame(VADUserStoppedSpeakingFrame())
    await asyncio.sleep(0.3)  # no words come
    assert not gate.paused and recorder.started == 0


async def test_words_slower_than_the_speech_still_make_a_barge_in():
    gate, strategy, recorder = await tutor_speaking()
    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.process_frame(VADUserStoppedSpeakingFrame())  # "Hold on," then a pause
    await asyncio.sleep(0.15)  # past words_wait_s: with nothing heard, the tutor stays paused
    assert gate.paused and recorder.started == 0
    await strategy.process_frame(words("Hold on, why is that?"))
    assert recorder.started == 1 and gate.counts.resumed == 0


async def test_a_barge_in_with_words_starts_the_learners_turn():
    gate, strategy, recorder = await tutor_speaking()
    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.process_frame(VADUserStoppedSpeakingFrame())
    result = await strategy.process_frame(words("Wait, what about friction?"))
    assert result is ProcessFrameResult.STOP and recorder.started == 1
    assert gate.counts.barge_ins == 1


async def test_speech_that_goes_on_is_a_barge_in_before_any_words():
    gate, strategy, recorder = await tutor_speaking(barge_in_s=0.2)
    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await asyncio.sleep(0.35)
    assert recorder.started == 1 and gate.paused  # the interruption frame opens the gate


async def test_the_tutors_own_voice_heard_back_is_ignored():
    gate, strategy, recorder = await tutor_speaking()
    gate.spoke("The sky is blue because the air scatters blue light from the Sun.")
    await strategy.process_frame(VADUserStartedSpeakingFrame())
    await strategy.process_frame(VADUserStoppedSpeakingFrame())
    await strategy.process_frame(words("the air scatters blue light"))
    assert recorder.started == 0 and not gate.paused and gate.counts.echoes == 1


async def test_with_the_tutor_silent_speech_starts_the_turn_at_once():
    gate = PlaybackGate()
    strategy = BargeInStartStrategy(gate)
    recorder = Recorder(strategy)
    result = await strategy.process_frame(VADUserStartedSpeakingFrame())
    assert result is ProcessFrameResult.STOP and recorder.started == 1 and not gate.paused


def recording_gate():
    """A gate in front of a write that records what got through."""
    gate, written = PlaybackGate(), []

    async def write(frame):
        written.append(frame)
        return True

    return gate, gate.wrap(write), written


@pytest.mark.parametrize("resume", [True, False])
async def test_the_gate_holds_audio_until_resumed(resume):
    gate, gated, written = recording_gate()
    await gated("before")
    gate.pause()
    pending = asyncio.create_task(gated("held"))
    await asyncio.sleep(0.05)
    assert written == ["before"]
    if resume:
        gate.resume()
        await asyncio.wait_for(pending, 1)
        assert written == ["before", "held"]
    else:
        pending.cancel()  # an interruption cancels the transport's write
        with pytest.raises(asyncio.CancelledError):
            await pending
        assert written == ["before"]


async def test_an_interruption_drops_the_chunk_that_waited_at_the_gate():
    gate, gated, written = recording_gate()
    gate.pause()
    pending = asyncio.create_task(gated("held"))
    await asyncio.sleep(0.05)
    gate.discard()  # the barge-in's interruption
    assert await asyncio.wait_for(pending, 1) and written == []
    await gated("the next answer")
    assert written == ["the next answer"]


@pytest.mark.parametrize("said", ["MMMM", "Uh-uh", "Hmmm.", "Ahh", "Mhmm"])
def test_murmurs_as_whisper_spells_them_are_backchannels(said):
    assert backchannel(said)


async def test_voice_pauses_the_tutor_before_the_vad_confirms_it():
    """The pause comes at the first voiced window; voice that fades unconfirmed reopens the
    gate after the hold, and voice again within the hold keeps it shut."""
    from pipecat.audio.vad.vad_analyzer import VADState

    gate, strategy, recorder = await tutor_speaking()
    strategy.onset_hold_s = 0.05
    strategy.on_vad_state(VADState.QUIET, VADState.STARTING)
    assert gate.paused
    strategy.on_vad_state(VADState.STARTING, VADState.QUIET)  # "Wait," then a breath
    await asyncio.sleep(0.02)
    strategy.on_vad_state(VADState.QUIET, VADState.STARTING)  # "… what about"
    await asyncio.sleep(0.08)
    assert gate.paused
    strategy.on_vad_state(VADState.STARTING, VADState.QUIET)  # a cough after all
    await asyncio.sleep(0.08)
    assert not gate.paused and recorder.started == 0


async def test_voice_the_vad_never_confirms_reopens_after_the_hold():
    """The VAD's voice signal (before its volume gate) pauses the tutor; if no VAD start
    follows, the gate reopens after the hold; a start within the hold keeps it shut."""
    from pipecat.audio.vad.vad_analyzer import VADState

    gate, strategy, recorder = await tutor_speaking()
    strategy.onset_hold_s = 0.05
    strategy.on_voice()
    assert gate.paused
    await asyncio.sleep(0.08)
    assert not gate.paused
    strategy.on_voice()
    strategy.on_vad_state(VADState.QUIET, VADState.STARTING)  # the VAD catches up
    await asyncio.sleep(0.08)
    assert gate.paused
    strategy.on_vad_state(VADState.STARTING, VADState.QUIET)
    await asyncio.sleep(0.08)
    assert not gate.paused and recorder.started == 0


async def test_a_misheard_first_segment_is_not_judged_while_the_learner_goes_on():
    """ "Stop," heard as "Start." is no barge-in by itself; if the learner is speaking again
    when it is judged, the tutor stays paused and the rest ("can you say that again?")
    decides; voice that then fades unconfirmed is judged again and the tutor goes on."""
    from pipecat.audio.vad.vad_analyzer import VADState

    for rest, barged in (("Can you say that again?", True), (None, False)):
        gate, strategy, recorder = await tutor_speaking(barge_in_s=5.0)
        strategy._words_wait_s = 0.02
        await strategy.process_frame(VADUserStartedSpeakingFrame(start_secs=0.2))
        strategy.on_vad_state(VADState.QUIET, VADState.STARTING)
        await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        strategy.on_vad_state(VADState.STOPPING, VADState.QUIET)
        strategy.on_vad_state(VADState.QUIET, VADState.STARTING)  # "… can you"
        await strategy.process_frame(words("Start."))
        await asyncio.sleep(0.05)
        assert gate.paused and recorder.started == 0
        if rest:
            await strategy.process_frame(words(rest))
        else:
            strategy.on_vad_state(VADState.STARTING, VADState.QUIET)  # a breath after all
            await asyncio.sleep(0.05)
        assert recorder.started == barged and gate.paused == barged


async def test_unclear_words_hold_the_tutor_briefly_and_a_backchannel_does_not():
    """ "Start." (a misheard "Stop,") may be followed by more after a comma's pause: the tutor
    stays paused for the hold, then goes on; "uh-huh" lets it go on at once."""
    for said, held in (("Start.", True), ("Uh-huh.", False)):
        gate, strategy, recorder = await tutor_speaking(barge_in_s=5.0)
        strategy.onset_hold_s = 0.1
        await strategy.process_frame(VADUserStartedSpeakingFrame(start_secs=0.2))
        await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        await strategy.process_frame(words(said))
        await asyncio.sleep(0.02)
        assert gate.paused is held, said
        await asyncio.sleep(0.15)
        assert not gate.paused and recorder.started == 0 and recorder.resets == 1, said


async def test_confirmed_speech_takes_over_an_early_pause():
    from pipecat.audio.vad.vad_analyzer import VADState

    gate, strategy, recorder = await tutor_speaking(barge_in_s=0.05)
    strategy.onset_hold_s = 0.02
    strategy.on_vad_state(VADState.QUIET, VADState.STARTING)
    await strategy.process_frame(VADUserStartedSpeakingFrame())
    strategy.on_vad_state(VADState.STARTING, VADState.SPEAKING)
    await asyncio.sleep(0.1)  # past the hold and the barge-in time: speech went on
    assert recorder.started == 1


def test_voiced_windows_leave_no_stray_hold_under_uvloop():
    """The server runs on uvloop, whose timer handles are not asyncio.TimerHandles: every
    voiced window once left a hold timer behind, which reopened the gate half a second
    later in the middle of the barge-in ("No, I meant the Sun." stopped the tutor after
    825 ms in eval turn-taking)."""
    import uvloop
    from pipecat.audio.vad.vad_analyzer import VADState

    async def paused_after_the_holds() -> bool:
        gate, strategy, _recorder = await tutor_speaking()
        strategy.onset_hold_s = 0.1
        for _ in range(4):  # one run of voiced windows while the VAD is still quiet
            strategy.on_voice()
            await asyncio.sleep(0.02)
        strategy.on_vad_state(VADState.QUIET, VADState.STARTING)  # the VAD catches up
        await asyncio.sleep(0.25)  # past every window's hold
        return gate.paused

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(paused_after_the_holds())


async def test_voice_while_the_tutor_is_silent_pauses_nothing():
    from pipecat.audio.vad.vad_analyzer import VADState

    gate = PlaybackGate()
    strategy = BargeInStartStrategy(gate)
    strategy.on_vad_state(VADState.QUIET, VADState.STARTING)
    assert not gate.paused


async def judged(said: str, speech_s: float) -> tuple[PlaybackGate, Recorder]:
    """`said` heard in speech lasting about `speech_s` over the tutor (no duration limit)."""
    gate, strategy, recorder = await tutor_speaking(barge_in_s=5.0)
    strategy.onset_hold_s = 0.05  # unclear words keep the tutor paused this long
    await strategy.process_frame(VADUserStartedSpeakingFrame(start_secs=0.2))
    await asyncio.sleep(speech_s)
    await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
    await strategy.process_frame(words(said))
    return gate, recorder


async def test_a_brief_murmur_heard_as_words_lets_the_tutor_go_on():
    """A noisy "Mm-hmm" or "Uh-huh" that Whisper hears as "In my mom." or "Other." says
    nothing that interrupts: no barge-in, brief or stretched by noise. Two content words in
    speech that is not brief are one."""
    for said in ("In my mom.", "Other."):
        for speech_s in (0.0, 0.6):
            gate, recorder = await judged(said, speech_s)
            await asyncio.sleep(0.1)  # past the hold
            assert recorder.started == 0 and not gate.paused, (said, speech_s)
    _gate, recorder = await judged("Tell me more.", 0.6)
    assert recorder.started == 1
    _gate, recorder = await judged("Tell me more.", 0.0)
    assert recorder.started == 0  # brief and no cue: the rule for murmurs


async def test_brief_words_that_interrupt_are_a_barge_in():
    for said in ("Stop!", "Why?", "That's wrong.", "I have a question"):
        gate, strategy, recorder = await tutor_speaking(barge_in_s=5.0)
        await strategy.process_frame(VADUserStartedSpeakingFrame(start_secs=0.2))
        await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        await strategy.process_frame(words(said))
        assert recorder.started == 1, said


def test_an_echo_is_the_tutors_words_in_its_order():
    gate = PlaybackGate()
    gate.spoke("That is why the Moon is on our side. Is that clear? Hold the ball.")
    assert gate.echo("why the Moon is on our side")
    assert gate.echo("Moon")
    assert not gate.echo("Hold on, why is that?")  # its words, not its phrases
    assert not gate.echo("the")  # one common word is no evidence
