"""The embedded gguf rewritten once into a quantization llama.cpp reads faster on a CPU.

The packaged SmolLM2 file is Q4_1, for which llama.cpp's CPU backend has no repacked kernel.
The same weights as Q8_0 read prompts much faster at the same perplexity and decode a little
slower; Q4_0 reads faster still but loses accuracy, having been quantized twice. A turn reads
every prompt token it has not read ahead and decodes only a few before its first clause, so
Q8_0 is the default (`eco1 eval llm-quant`, evals/results/llm_quant.json; docs/latency.md).
The server converts once, at first load (about a second),
and keeps the file in a cache folder.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import tempfile
from pathlib import Path
from typing import get_args

from loguru import logger

from agent.config import RequantizeKind

KINDS: tuple[str, ...] = get_args(RequantizeKind)


class RequantizeError(RuntimeError):
    """llama.cpp could not write the requantized model; the message says where and why."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "eco1" / "models"


def requantized_path(source: Path, kind: str, cache_dir: Path) -> Path:
    """Where the converted file of this exact source (path, size, mtime) lives."""
    stat = source.stat()
    key = hashlib.sha1(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return cache_dir / f"{source.stem}.{kind}.{key.hexdigest()[:12]}.gguf"


def requantized(source: Path, kind: str, cache_dir: Path | None = None) -> Path:
    """The gguf to load: `source` itself for "none", else its `kind` version, made if missing.

    Written to a temporary name and renamed, so servers starting side by side never load a
    half-written file (the last rename wins; both wrote the same bytes).
    """
    if kind == "none":
        return source
    if kind not in KINDS:
        raise ValueError(f"unknown quantization {kind!r}; choose one of {', '.join(KINDS)}")
    from llama_cpp import llama_cpp

    target = requantized_path(source, kind, cache_dir or default_cache_dir())
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("converting {} to {} once, into {}", source.name, kind, target.parent)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind}")
    params.allow_requantize = True
    params.nthread = os.cpu_count() or 1
    handle, scratch = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(handle)
    try:
        code = llama_cpp.llama_model_quantize(
            str(source).encode(), scratch.encode(), ctypes.byref(params)
        )
        if code != 0:
            raise RequantizeError(
                f"llama.cpp could not convert {source} to {kind} (code {code}); set "
                "ECO1_LLM__REQUANTIZE=none to load the file as it is"
            )
        os.chmod(scratch, 0o644)  # mkstemp makes it private; the cache is plain data
        os.replace(scratch, target)
    finally:
        Path(scratch).unlink(missing_ok=True)
    return target
