"""Saved system-message states (agent/backends/prefix_cache.py) change speed, never answers."""

from __future__ import annotations

import ctypes

import numpy as np

from agent.backends.llama_cpp import LlamaCppBackend
from agent.backends.llama_pool import LlamaCppPool
from agent.backends.openai_compatible import merged_system_messages
from agent.backends.prefix_cache import PrefixState, PrefixStateCache
from agent.config import LLMSettings
from agent.turn.prompt import chat_messages

NOTES = (
    "You are a patient tutor.\nNotes:\n[1] Photosynthesis: plants use light energy to turn "
    "water and carbon dioxide into glucose and oxygen, in their chloroplasts."
)
ASK = [{"role": "system", "content": NOTES}, {"role": "user", "content": "What is photosynthesis?"}]
OTHER = [{"role": "system", "content": "You are a pirate."}, {"role": "user", "content": "Hi."}]


async def answer(backend, messages) -> str:
    return "".join([p async for p in backend.stream(messages, max_tokens=16, temperature=0.0)])


async def test_a_restored_prefix_gives_the_same_answer_as_reading_it():
    uncached = LlamaCppBackend(LLMSettings(prefix_cache_entries=0))
    expected = await answer(uncached, ASK)
    cached = LlamaCppBackend(LLMSettings(prefix_cache_entries=4, context_tokens=1024))
    cache = cached._prefixes
    first = await answer(cached, ASK)  # reads and saves the system message
    await answer(cached, OTHER)  # the context now holds another prompt
    hits = cache.hits
    second = await answer(cached, ASK)  # restored from the saved state
    assert first == second == expected
    assert cache.hits == hits + 1 and len(cache) == 2


async def test_pool_contexts_share_saved_prefixes():
    pool = LlamaCppPool(LLMSettings(instances=2, context_tokens=768))
    cache = pool.members[0]._prefixes
    assert cache is pool.members[1]._prefixes
    first = await answer(pool.members[0], ASK)
    hits = cache.hits
    assert await answer(pool.members[1], ASK) == first  # state saved by the other context
    assert cache.hits == hits + 1


def test_the_cache_forgets_the_least_recently_used():
    cache = PrefixStateCache(entries=2)
    state = PrefixState(tokens=np.arange(3), data=(ctypes.c_uint8 * 1)())
    cache.put("a", state)
    cache.put("b", state)
    cache.get("a")
    cache.put("c", state)
    assert cache.get("b") is None and cache.get("a") is state and len(cache) == 2


def test_turn_instructions_follow_the_cacheable_prompt():
    context = [{"role": "user", "content": "Why?"}]
    assert chat_messages("SYS", context, "For this reply: be brief.") == [
        {"role": "system", "content": "SYS"},
        {"role": "system", "content": "For this reply: be brief."},
        {"role": "user", "content": "Why?"},
    ]
    assert chat_messages("SYS", context) == [{"role": "system", "content": "SYS"}, *context]


def test_remote_servers_get_one_system_message():
    messages = chat_messages("SYS", [{"role": "user", "content": "Why?"}], "Be brief.")
    assert merged_system_messages(messages) == [
        {"role": "system", "content": "SYS\nBe brief."},
        {"role": "user", "content": "Why?"},
    ]
    assert merged_system_messages(messages[1:]) == messages[1:]


async def test_read_ahead_saves_prompts_before_any_turn_sends_them():
    import threading

    backend = LlamaCppBackend(LLMSettings(prefix_cache_entries=8, context_tokens=640))
    cache = backend._prefixes
    read = backend.read_ahead([NOTES, "You are a pirate."], threading.Event())
    assert read == 2 and len(cache) == 2
    assert backend.read_ahead([NOTES], threading.Event()) == 0  # already saved
    hits = cache.hits
    await answer(backend, ASK)
    assert cache.hits == hits + 1


def test_likely_prompts_are_what_one_note_turns_send():
    from agent.retrieval.index import HybridIndex
    from agent.retrieval.notes import default_notes_dir
    from agent.turn.compute import TurnCompute, TurnPlan

    index = HybridIndex.from_folder(default_notes_dir())
    compute = TurnCompute({"embedded": None}, index=index, retrieval_k=1)
    prompts = compute.likely_system_prompts("SYS")
    assert len(prompts) == len(index.passages) + 1 and prompts[0] == "SYS"
    hit = index.search("What do decomposers do?", k=1)[0]
    plan = TurnPlan(compute.fixed, None, [hit])
    assert "SYS" + plan.system_addendum() in prompts
    assert (
        TurnCompute({"embedded": None}, index=index, retrieval_k=2).likely_system_prompts("S") == []
    )


async def test_the_turn_instructions_are_saved_as_a_second_level():
    hinted = [ASK[0], {"role": "system", "content": "For this reply: be brief."}, ASK[1]]
    expected = await answer(LlamaCppBackend(LLMSettings(prefix_cache_entries=0)), hinted)
    backend = LlamaCppBackend(LLMSettings(prefix_cache_entries=8, context_tokens=896))
    cache = backend._prefixes
    assert await answer(backend, hinted) == expected  # reads and saves both levels
    assert len(cache) == 2
    await answer(backend, OTHER)
    hits, misses = cache.hits, cache.misses
    assert await answer(backend, hinted) == expected  # the deeper level, restored
    assert cache.hits == hits + 1 and cache.misses == misses
    other_hint = [ASK[0], {"role": "system", "content": "For this reply: ask a question."}, ASK[1]]
    hits, misses = cache.hits, cache.misses
    await answer(backend, other_hint)  # the notes level is found, the new hint read and saved
    assert cache.hits == hits + 1 and cache.misses == misses + 1 and len(cache) == 4


async def test_read_ahead_of_a_stack_saves_the_hinted_level():
    import threading

    hint = "For this reply: be brief."
    backend = LlamaCppBackend(LLMSettings(prefix_cache_entries=8, context_tokens=960))
    cache = backend._prefixes
    assert backend.read_ahead([[NOTES, hint]], threading.Event()) == 1
    assert len(cache) == 2  # the notes alone, and the notes with the hint
    misses = cache.misses
    await answer(backend, [ASK[0], {"role": "system", "content": hint}, ASK[1]])
    assert cache.misses == misses  # nothing read before the question


def test_the_server_reads_ahead_each_note_with_the_question_hint():
    import threading

    from agent.turn.assembly import read_ahead_knowledge_base
    from agent.turn.prompt import reply_instruction

    class Recorder:
        def read_ahead(self, prompts, stop):
            self.prompts = prompts
            return len(prompts)

    class Compute:
        backends = {"embedded": Recorder()}

        def likely_system_prompts(self, base):
            return [base + " A", base + " B"]

    compute = Compute()
    assert read_ahead_knowledge_base(compute, "SYS", threading.Event()) == 2
    hint = reply_instruction("explain")
    assert compute.backends["embedded"].prompts == [["SYS A", hint], ["SYS B", hint]]
