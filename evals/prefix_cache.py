"""`eco1 eval prefix-cache`: the LLM's time to first token with its notes read or restored.

For each question the shipped notes cover (evals/data/tutor_questions.json) the tutor's real
turn preparation (retrieval, one note) builds the system message; the embedded SmolLM2 then
answers it three ways, interleaved per question: without the note (the floor), with the note
read as usual (prefix cache off), and with the note's state restored from the prefix cache
(read once before, another prompt in between, as when another learner's turn came first).
Writes evals/results/prefix_cache.json.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from agent.backends.llama_cpp import LlamaCppBackend
from agent.config import Settings
from agent.turn.assembly import build_turn_compute
from agent.turn.prompt import chat_messages
from evals.latency import percentiles
from evals.retrieval import question_sets

OTHER = [{"role": "system", "content": "You are a ship's cook."}, {"role": "user", "content": "Hi"}]


async def first_token_ms(backend: LlamaCppBackend, messages) -> float:
    started = time.perf_counter()
    async for _ in backend.stream(messages, max_tokens=4, temperature=0.0):
        break
    return (time.perf_counter() - started) * 1000.0


async def measure(settings: Settings) -> dict[str, list[float]]:
    compute = build_turn_compute(settings)
    read = LlamaCppBackend(settings.llm.model_copy(update={"prefix_cache_entries": 0}))
    cached = LlamaCppBackend(settings.llm.model_copy(update={"prefix_cache_entries": 64}))
    times: dict[str, list[float]] = {"no_note": [], "note_read": [], "note_restored": []}
    for backend in (read, cached):
        await first_token_ms(backend, OTHER)  # load the weights
    for item in question_sets()["covered_tuning"]:
        question = item["question"]
        plan = await compute.prepare("eval", question)
        if not plan.hits:  # a question given no note has nothing to read or restore
            continue
        user = [{"role": "user", "content": question}]
        plain = chat_messages(settings.llm.system_prompt, user)
        noted = chat_messages(settings.llm.system_prompt + plan.system_addendum(), user)
        times["no_note"].append(await first_token_ms(read, plain))
        await first_token_ms(read, OTHER)
        times["note_read"].append(await first_token_ms(read, noted))
        await first_token_ms(cached, noted)  # the first time reads and saves it
        await first_token_ms(cached, OTHER)
        times["note_restored"].append(await first_token_ms(cached, noted))
    return times


def run_prefix_cache_eval(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    times = asyncio.run(measure(settings))
    result = {
        "questions": len(times["no_note"]),
        "llm": f"SmolLM2-135M gguf, llama.cpp, {settings.llm.threads} thread(s) generating, "
        f"{settings.llm.batch_threads or 'all'} reading the prompt, retrieval k=1",
        "first_token_ms": {name: percentiles(values) for name, values in times.items()},
        "per_question_ms": {name: [round(v, 1) for v in values] for name, values in times.items()},
    }
    (out_dir / "prefix_cache.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["first_token_ms"]))
    print(f"wrote {out_dir / 'prefix_cache.json'}")
    return 0
