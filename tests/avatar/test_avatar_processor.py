"""Anchoring speech on the audio clock, after the output transport re-chunks the audio."""

from pipecat.frames.frames import TTSAudioRawFrame
from pipecat.tests.utils import run_test

from avatar.processor import AvatarMotionProcessor, SpeechClockStamper
from speech.frames import PhonemeAlignment, PhonemeAlignmentFrame

RATE = 24000


def audio(seconds: float) -> TTSAudioRawFrame:
    return TTSAudioRawFrame(b"\x10\x00" * int(seconds * RATE), RATE, 1)


def alignment(*pairs) -> PhonemeAlignmentFrame:
    return PhonemeAlignmentFrame(
        sample_rate=1000, alignments=[PhonemeAlignment(p, n) for p, n in pairs]
    )


async def test_stamper_marks_where_each_chunk_starts_in_the_stream():
    first, second = alignment(("a", 200)), alignment(("u", 100))
    await run_test(
        SpeechClockStamper(),
        frames_to_send=[first, audio(0.2), second, audio(0.1)],
        expected_down_frames=None,
    )
    assert first.stream_offset_s == 0.0
    assert abs(second.stream_offset_s - 0.2) < 1e-9


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


def test_alignment_is_anchored_when_its_audio_leaves():
    clock = Clock()
    processor = AvatarMotionProcessor(lambda _: None, clock=clock)  # motion clock 0 = 100.0
    item = alignment(("s", 50), ("a", 150))
    item.stream_offset_s = 0.15  # its audio starts 150 ms into the stream
    processor._pending.append(item)
    clock.now = 101.0
    processor.on_audio_written(audio(0.1))  # stream 0.0-0.1 written at t=1.0
    assert processor.generator.segments == []
    clock.now = 101.1
    processor.on_audio_written(audio(0.1))  # stream 0.1-0.2, the chunk starts 50 ms in
    segments = processor.generator.segments
    assert [s.viseme for s in segments] == ["SS", "aa"]
    assert abs(segments[0].start_s - 1.15) < 1e-9
    assert abs(segments[1].start_s - 1.20) < 1e-9 and abs(segments[1].end_s - 1.35) < 1e-9
