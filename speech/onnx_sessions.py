"""One ONNX Runtime session per model file per process, shared by every learner's session.

Pipecat's Silero VAD and smart-turn analyzers each load their own InferenceSession, so every
learner who connects creates two and every one who leaves destroys them. ONNX Runtime does
not give all of that memory back (memray on a 12-session soak: the sessions' arenas and
initializers stayed allocated, ~13 MB per talking session), so resident memory climbed with
every session. `InferenceSession.run` is thread-safe and both models keep their recurrent
state outside the session, so one session per model serves all learners.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

import onnxruntime as ort

_sessions: dict[tuple[str, int], ort.InferenceSession] = {}
_lock = threading.Lock()


def packaged_model(package: str, name: str) -> Path:
    """A model file shipped inside a Python package (pipecat's VAD and smart-turn)."""
    return Path(str(resources.files(package).joinpath(name)))


def shared_onnx_session(path: Path, intra_op_threads: int = 1) -> ort.InferenceSession:
    """The process's CPU session for the model at path, created on first use."""
    key = (str(path), intra_op_threads)
    with _lock:
        if key not in _sessions:
            options = ort.SessionOptions()
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.inter_op_num_threads = 1
            options.intra_op_num_threads = intra_op_threads
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            _sessions[key] = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return _sessions[key]
