"""Speech: voice activity, turn detection, streaming ASR, TTS and audio helpers."""
