"""Piper TTS with phoneme alignments, speaking clause by clause.

Pipecat's PiperTTSService loads voices without alignments and cuts text by sentence; this
service loads the voice once per process with `include_alignments=True`, emits a
PhonemeAlignmentFrame beside each audio chunk (the avatar's lip-sync clock), and uses the
clause aggregator so speech starts before the first sentence is complete.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path

from loguru import logger
from pipecat.frames.frames import (
    Frame,
    InterruptionFrame,
    LLMFullResponseStartFrame,
    TTSAudioRawFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.tts_service import TTSService
from piper import PiperVoice

from speech.assets import piper_voice_file
from speech.clauses import ClauseTextAggregator
from speech.first_audio import FirstAudioGate
from speech.frames import (
    FallbackFrame,
    PhonemeAlignment,
    PhonemeAlignmentFrame,
    SpeculativeClauseFrame,
)
from speech.leading_quiet import drop_lead, quiet_lead_samples
from speech.piper_voice import ORT_DEFAULT, PiperThreads, load_piper_voice

_voices: dict[tuple[str, bool, PiperThreads], PiperVoice] = {}
_voices_lock = threading.Lock()


def shared_piper_voice(
    voice_file: Path, use_cuda: bool = False, threads: PiperThreads = ORT_DEFAULT
) -> PiperVoice:
    """Load a Piper voice (with alignment outputs) once per process and threading."""
    key = (str(voice_file), use_cuda, threads)
    with _voices_lock:
        if key not in _voices:
            _voices[key] = load_piper_voice(voice_file, use_cuda, threads)
        return _voices[key]


TTS_FALLBACK_LINE = "Sorry, give me a moment."
_fallbacks: dict[int, bytes] = {}


def fallback_audio(voice: PiperVoice) -> bytes:
    """The fallback line, synthesized once per voice while Piper is known to work."""
    with _voices_lock:
        if id(voice) not in _fallbacks:
            _fallbacks[id(voice)] = b"".join(
                c.audio_int16_bytes for c in voice.synthesize(TTS_FALLBACK_LINE)
            )
        return _fallbacks[id(voice)]


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _failing(reason: str):
    """A chunk iterator that raises on first use (the injected TTS fault)."""
    raise RuntimeError(reason)
    yield  # pragma: no cover - makes this a generator


def alignment_frame(
    chunk, text: str, context_id: str | None, cut: int = 0
) -> PhonemeAlignmentFrame | None:
    """The alignment frame for one Piper AudioChunk (its first `cut` samples dropped), or None
    if Piper gave none."""
    if not chunk.phoneme_alignments:
        return None
    alignments = [
        PhonemeAlignment(item.phoneme, int(item.num_samples)) for item in chunk.phoneme_alignments
    ]
    return PhonemeAlignmentFrame(
        context_id=context_id,
        text=text,
        sample_rate=chunk.sample_rate,
        alignments=drop_lead(alignments, cut),
    )


def chunk_audio(chunk, trim_lead: bool) -> tuple[bytes, int]:
    """A chunk's int16 bytes and how many leading samples were cut (only when trim_lead)."""
    if not trim_lead:
        return chunk.audio_int16_bytes, 0
    audio = chunk.audio_int16_array
    cut = quiet_lead_samples(audio, chunk.sample_rate)
    return audio[cut:].tobytes(), cut


class AlignedPiperTTSService(TTSService):
    """Local Piper synthesis, off the event loop, with alignments and clause streaming."""

    Settings = PiperTTSService.Settings

    def __init__(
        self,
        *,
        voice_file: Path | None = None,
        use_cuda: bool = False,
        threads: PiperThreads = ORT_DEFAULT,
        clause_min_words: int = 4,
        first_clause_words: int = 4,
        trim_first_lead: bool = True,
        fault: Callable[[str], bool] | None = None,
        first_audio: FirstAudioGate | None = None,
        **kwargs,
    ) -> None:
        self._voice_file = piper_voice_file(voice_file)
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=self.Settings(model=None, voice=self._voice_file.stem, language=None),
            **kwargs,
        )
        self._voice = shared_piper_voice(self._voice_file, use_cuda, threads)
        self._text_aggregator = ClauseTextAggregator(
            min_words=clause_min_words, first_clause_words=first_clause_words or None
        )
        self._pending_alignments: list[PhonemeAlignmentFrame] = []
        self._fault = fault or (lambda _kind: False)
        self._fallback = fallback_audio(self._voice)
        self._first_audio = first_audio
        self._trim_first_lead = trim_first_lead
        self._answer_opened = False  # an answer began and none of its clauses was spoken yet
        # An opening clause synthesized ahead (SpeculativeClauseFrame): its text and chunks.
        self._ahead: tuple[str, asyncio.Task[list]] | None = None
        self.ahead_used = 0  # opening clauses spoken from audio synthesized ahead

    @property
    def voice(self) -> PiperVoice:
        return self._voice

    def can_generate_metrics(self) -> bool:
        return True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        if isinstance(frame, SpeculativeClauseFrame):
            self._synthesize_ahead(frame.text)
            return  # a hint for this service only
        if isinstance(frame, LLMFullResponseStartFrame):
            self._answer_opened = True
        elif isinstance(frame, InterruptionFrame) and self._first_audio is not None:
            self._first_audio.release()
        await super().process_frame(frame, direction)

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        first_clause, self._answer_opened = self._answer_opened, False
        if first_clause and self._first_audio is not None:
            self._first_audio.hold()
        try:
            async for frame in self._synthesize(
                text, context_id, trim_lead=first_clause and self._trim_first_lead
            ):
                yield frame
                if isinstance(frame, TTSAudioRawFrame) and self._first_audio is not None:
                    self._first_audio.release()
        finally:
            if self._first_audio is not None:
                self._first_audio.release()

    def _synthesize_ahead(self, text: str) -> None:
        """Synthesize a speculative opening clause now, while the turn is not committed."""
        if self._ahead is not None:
            self._ahead[1].cancel()
        voice = self._voice
        job = asyncio.to_thread(lambda: list(voice.synthesize(text, include_alignments=True)))
        self._ahead = (text.strip(), self.create_task(job, name="tts-ahead"))

    async def _take_ahead(self, text: str) -> list | None:
        """The chunks synthesized ahead if they are for exactly this text (else dropped)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None or ahead[0] != text.strip():
            if ahead is not None:
                ahead[1].cancel()
            return None
        try:
            chunks = await ahead[1]
        except (Exception, asyncio.CancelledError):  # then synthesize it as usual
            return None
        self.ahead_used += 1
        return chunks

    async def _synthesize(
        self, text: str, context_id: str, trim_lead: bool = False
    ) -> AsyncGenerator[Frame, None]:
        """Piper's audio for `text`; with trim_lead (an answer's first clause, which the
        learner waits for) the near-silence before its first sound is cut, and audio
        synthesized ahead for that clause is used when there is some."""
        ahead = await self._take_ahead(text)
        if self._fault("tts_error"):
            chunks = _failing(f"injected TTS failure on {text!r}")
        elif ahead is not None:
            chunks = iter(ahead)
        else:
            chunks = iter(self._voice.synthesize(text, include_alignments=True))

        def next_chunk():
            return next(chunks, None)

        async def audio_bytes() -> AsyncIterator[bytes]:
            first = trim_lead
            while (chunk := await asyncio.to_thread(next_chunk)) is not None:
                audio, cut = chunk_audio(chunk, first)
                first = False
                if frame := alignment_frame(chunk, text, context_id, cut):
                    self._pending_alignments.append(frame)
                yield audio

        try:
            await self.start_tts_usage_metrics(text)
            async for frame in self._stream_audio_frames_from_iterator(
                audio_bytes(), in_sample_rate=self._voice.config.sample_rate, context_id=context_id
            ):
                await self.stop_ttfb_metrics()
                while self._pending_alignments:
                    yield self._pending_alignments.pop(0)
                yield frame
        except Exception as exc:
            # The clause is lost; a line recorded at start-up stands in, so the learner hears
            # that something went wrong instead of a gap, and the next clause goes on.
            logger.error("Piper failed on {!r}: {}", text, exc)
            yield FallbackFrame(stage="tts", reason=str(exc))
            async for frame in self._stream_audio_frames_from_iterator(
                _once(self._fallback),
                in_sample_rate=self._voice.config.sample_rate,
                context_id=context_id,
            ):
                yield frame
        finally:
            self._pending_alignments.clear()
            await self.stop_ttfb_metrics()
