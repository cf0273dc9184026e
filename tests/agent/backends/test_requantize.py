"""The embedded gguf converted once to a faster quantization, cached, with clear errors."""

from __future__ import annotations

import pytest

from agent.backends.requantize import RequantizeError, requantized
from speech.assets import smollm2_gguf


def test_none_loads_the_file_as_it_is(tmp_path):
    source = smollm2_gguf()
    assert requantized(source, "none", tmp_path) == source
    assert not any(tmp_path.iterdir())


def test_q8_is_written_once_and_then_reused(tmp_path):
    from llama_cpp import Llama

    target = requantized(smollm2_gguf(), "Q8_0", tmp_path)
    assert target.parent == tmp_path and target.name.endswith(".gguf") and "Q8_0" in target.name
    written = target.stat().st_mtime_ns
    assert requantized(smollm2_gguf(), "Q8_0", tmp_path) == target
    assert target.stat().st_mtime_ns == written
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no scratch file left
    llama = Llama(model_path=str(target), n_ctx=256, verbose=False)
    assert llama.metadata["general.file_type"] == "7"  # LLAMA_FTYPE_MOSTLY_Q8_0
    out = llama.create_completion("The sky is", max_tokens=4, temperature=0.0)
    assert out["choices"][0]["text"].strip()


def test_a_broken_source_fails_clearly_and_leaves_nothing(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf at all")
    cache = tmp_path / "cache"
    with pytest.raises(RequantizeError, match="ECO1_LLM__REQUANTIZE=none"):
        requantized(broken, "Q8_0", cache)
    assert list(cache.iterdir()) == []


def test_an_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown quantization"):
        requantized(smollm2_gguf(), "Q3_K", tmp_path)


def test_an_unwritable_cache_loads_the_file_as_it_is(tmp_path):
    from agent.backends.llama_cpp import LlamaCppBackend
    from agent.config import LLMSettings

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    backend = LlamaCppBackend(LLMSettings(model_cache_dir=blocker / "models"))
    assert backend._loadable_path() == smollm2_gguf()
