"""Loading a Piper voice with the ONNX Runtime threading the service asks for.

`PiperVoice.load` builds its session with ONNX Runtime's defaults: one intra-op thread per
physical core, and pool threads that spin while they wait for work. On a small CPU the
answer's first clause is synthesized while the LLM's generation thread and the event loop
also want a core, and spinning threads take cycles from them and from Piper's own calling
thread (`eco1 eval tts-threads` measures it). This loader builds the same session, with the
alignment output patched in memory, and the threading set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import onnxruntime
from piper import PiperVoice
from piper.config import PiperConfig


@dataclass(frozen=True)
class PiperThreads:
    """How one synthesis uses the CPU: `threads` intra-op threads (0: ONNX Runtime's
    default, one per physical core) and whether idle pool threads spin."""

    threads: int = 0
    spin: bool = True

    def session_options(self) -> onnxruntime.SessionOptions:
        options = onnxruntime.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if self.spin else "0"
        )
        return options


ORT_DEFAULT = PiperThreads()


def _with_alignments(voice_file: Path) -> bytes:
    """The voice's model with the phoneme-alignment output added (kept as it is when the
    file was already patched)."""
    import onnx
    from piper.patch_voice_with_alignment import add_alignment_output

    model = onnx.load(str(voice_file))
    try:
        add_alignment_output(model)
    except ValueError:  # the tensor is already an output, or this model has none to add
        pass
    return model.SerializeToString()


def load_piper_voice(
    voice_file: Path, use_cuda: bool = False, threads: PiperThreads = ORT_DEFAULT
) -> PiperVoice:
    """A PiperVoice with alignment outputs whose session uses `threads` (CPU only); the
    paths are checked by speech.assets.piper_voice_file."""
    config_text = Path(f"{voice_file}.json").read_text(encoding="utf-8")
    config = PiperConfig.from_dict(json.loads(config_text))
    if use_cuda:
        providers = [("CUDAExecutionProvider", {"cudnn_conv_algo_search": "HEURISTIC"})]
    else:
        providers = ["CPUExecutionProvider"]
    session = onnxruntime.InferenceSession(
        _with_alignments(voice_file), sess_options=threads.session_options(), providers=providers
    )
    return PiperVoice(session=session, config=config)
