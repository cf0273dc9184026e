"""Retrieval: markdown notes to passages, hybrid BM25 + MiniLM search, grounding, critique."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.retrieval.grounding import grounding
from agent.retrieval.index import HybridIndex, Relevance
from agent.retrieval.notes import NotesError, default_notes_dir, load_notes, split_note
from agent.turn.critique import critique_and_revise

QUESTIONS = Path(__file__).resolve().parents[3] / "evals" / "data" / "tutor_questions.json"


def test_a_note_splits_into_titled_sections():
    passages = split_note("x.md", "# Light\nintro words\n## Speed\nvery fast\n\n## Colour\nwhite")
    assert [(p.title, p.section, p.text) for p in passages] == [
        ("Light", "", "intro words"),
        ("Light", "Speed", "very fast"),
        ("Light", "Colour", "white"),
    ]
    assert passages[1].citation == "Light › Speed"


def test_bad_notes_folders_are_clear_errors(tmp_path):
    with pytest.raises(NotesError, match="does not exist"):
        load_notes(tmp_path / "absent")
    with pytest.raises(NotesError, match="no markdown"):
        load_notes(tmp_path)
    (tmp_path / "bad.md").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(NotesError, match="not UTF-8"):
        load_notes(tmp_path)


def test_the_shipped_knowledge_base_covers_biology_and_physics():
    titles = {p.title for p in load_notes(default_notes_dir())}
    assert {"Photosynthesis", "Evolution by natural selection", "Newton's laws of motion"} <= titles


@pytest.fixture(scope="module")
def index():
    return HybridIndex.from_folder()


def test_hybrid_search_finds_the_passage_holding_the_answer(index):
    questions = json.loads(QUESTIONS.read_text())
    found = 0
    for item in questions:
        text = " ".join(h.passage.text.lower() for h in index.search(item["question"], k=2))
        found += all(word in text for word in item["keywords"])
    assert found / len(questions) >= 0.85


def test_each_retriever_alone_and_the_fusion_weights(index):
    hits = index.search("Which base pairs with adenine?", k=3)
    assert hits[0].passage.section == "Structure" and hits[0].score >= hits[-1].score
    lexical_only = HybridIndex(index.passages, bm25_weight=1.0, dense_weight=0.0)
    assert lexical_only.search("ohm resistance volts", k=1)[0].passage.source == "electricity.md"
    dense_only = HybridIndex(index.passages, bm25_weight=0.0, dense_weight=1.0)
    meaning = dense_only.search("why can't you hear anything in outer space", k=1)[0]
    assert meaning.passage.source == "waves_sound.md"
    assert index.search("   ", k=2) == [] and index.search("light", k=0) == []
    assert index.search("zebra crossing timetable", k=2, min_score=0.9) == []
    with pytest.raises(ValueError):
        HybridIndex(index.passages, bm25_weight=0.0, dense_weight=0.0)


def test_questions_the_notes_do_not_cover_get_no_passage(index):
    # Its BM25 half is full for sharing "blue" with the chlorophyll passage: ranked first.
    sky = index.ranked("Why is the sky blue?", 1)[0]
    assert sky.passage.source == "photosynthesis.md" and sky.score >= 0.5
    assert index.search("Why is the sky blue?", k=2) == []
    assert index.search("What is the capital of France?", k=2) == []
    everything = HybridIndex(index.passages, relevance=Relevance(-1.0, 0.0))
    assert everything.search("Why is the sky blue?", k=1)[0].passage == sky.passage


def test_a_passage_holding_the_rare_words_counts_even_when_meaning_is_far(index):
    hit = index.search("What do decomposers do?", k=1)[0]
    assert hit.passage.source == "ecosystems.md"
    assert hit.dense < index.relevance.min_similarity and hit.coverage == 1.0
    at = index.passages.index(hit.passage)
    # "sky" is in no passage, so it outweighs the "blue" the passage holds.
    chlorophyll = index.ranked("Why is the sky blue?", 1)[0].passage
    assert 0.0 < index.coverage("sky blue", index.passages.index(chlorophyll)) < 0.5
    assert index.coverage("what do we do", at) == 0.0  # no word left after stopwords


def test_citations_carry_source_and_heading(index):
    citation = index.search("What do decomposers do?", k=1)[0].as_citation(1)
    assert citation["n"] == 1 and citation["source"] == "ecosystems.md"
    assert "›" in citation["title"] and 0 < citation["score"] <= 1


def test_grounding_prefers_answers_that_follow_the_notes():
    notes = ["Sound needs a medium, so it cannot travel through the vacuum of space."]
    good = grounding("Space is a vacuum and sound needs a medium to travel.", notes)
    bad = grounding("My favourite colour is purple.", notes)
    assert good is not None and bad is not None and good > bad + 0.3
    assert grounding("anything", []) is None


def test_grounding_embeds_each_passage_once(monkeypatch):
    from agent.retrieval import index as index_module

    embedded: list[str] = []
    real_embed = index_module.embed

    def counting_embed(texts):
        embedded.extend(texts)
        return real_embed(texts)

    monkeypatch.setattr(index_module, "embed", counting_embed)
    notes = ["Bees turn nectar into honey by evaporating its water in the hive, each cell fanned."]
    first = grounding("Bees make honey from nectar.", notes)
    second = grounding("Bees make honey from nectar.", notes)
    assert first == second
    assert embedded.count(notes[0]) == 1 and embedded.count("Bees make honey from nectar.") == 2


class Script:
    """A backend whose replies come from a list, one per request."""

    name = "script"

    def __init__(self, replies):
        self.replies, self.requests = list(replies), []

    async def stream(self, messages, *, max_tokens, temperature):
        self.requests.append(messages)
        for word in self.replies.pop(0).split(" "):
            yield word + " "


NOTES = "Plants release oxygen as a by-product of photosynthesis."
ASK = [{"role": "system", "content": "tutor"}, {"role": "user", "content": "What gas?"}]


def _ground(answer: str) -> float | None:
    return grounding(answer, [NOTES])


async def test_a_better_grounded_revision_replaces_the_draft():
    backend = Script(["Plants make gold.", "It misses oxygen.", "Plants release oxygen."])
    result = await critique_and_revise(
        backend, ASK, rounds=1, notes=NOTES, grounding=_ground, max_tokens=20,
        critique_tokens=10, temperature=0.0,
    )  # fmt: skip
    assert result.answer == "Plants release oxygen." and result.revisions_kept == 1
    assert "Draft answer: Plants make gold." in backend.requests[1][1]["content"]
    assert result.tokens == 3 + 3 + 3


async def test_a_worse_revision_is_dropped_and_ok_stops_early():
    backend = Script(["Plants release oxygen.", "Add detail.", "Bananas are yellow.", "OK"])
    result = await critique_and_revise(
        backend, ASK, rounds=3, notes=NOTES, grounding=_ground, max_tokens=20,
        critique_tokens=10, temperature=0.0,
    )  # fmt: skip
    assert result.answer == "Plants release oxygen." and result.revisions_kept == 0
    assert result.critiques == ["Add detail.", "OK"] and not backend.replies


async def test_a_critiqued_turn_reports_the_tokens_it_generated():
    from pipecat.frames.frames import LLMContextFrame
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.tests.utils import run_test

    from agent.controller.decision import ComputeDecision
    from agent.turn.compute import TurnCompute
    from agent.turn.service import TutorLLMService

    backend = Script(["Plants make gold.", "It misses oxygen.", "Plants release oxygen."])
    compute = TurnCompute({"embedded": backend}, fixed=ComputeDecision(critique_rounds=1))
    reported: list[int] = []
    compute.finish = lambda session, plan, answer, tokens: reported.append(tokens)
    service = TutorLLMService(
        backend, system_prompt="tutor", max_tokens=20, temperature=0.0, compute=compute
    )
    context = LLMContext(messages=[{"role": "user", "content": "What gas?"}])
    await run_test(service, frames_to_send=[LLMContextFrame(context)], expected_down_frames=None)
    assert reported == [9]  # draft, critique and revision: three words each


def test_the_retrieval_eval_compares_the_gates_side_by_side(tmp_path, index):
    from evals.retrieval import run_retrieval_eval

    assert run_retrieval_eval(tmp_path) == 0
    result = json.loads((tmp_path / "retrieval.json").read_text())
    before, after = result["gates"]["score_only"], result["gates"]["relevance"]
    for held in ("covered_held_out", "uncovered_held_out"):
        assert before[held]["questions"] >= 20
    assert after["uncovered_held_out"]["wrong"] < before["uncovered_held_out"]["wrong"]
    assert after["covered_held_out"]["right"] == before["covered_held_out"]["right"] >= 0.9
    assert set(result["sweep_min_similarity"]) >= {"0.35"} and (tmp_path / "retrieval.png").exists()


@pytest.mark.parametrize("preset, expected", [(None, "cpu"), ("cuda", "cuda")])
def test_bm25s_keeps_jax_off_the_gpu_unless_told(preset, expected):
    """bm25s runs a JAX top-k at import; on a GPU host that took 75 % of the GPU's memory."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"}
    if preset:
        env["JAX_PLATFORMS"] = preset
    code = (
        "import os, sys\n"
        "from agent.retrieval.index import _tokens\n"
        "assert 'bm25s' not in sys.modules\n"
        "_tokens(['light is fast'])\n"
        "print(os.environ['JAX_PLATFORMS'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[3], check=True)  # fmt: skip
    assert out.stdout.strip() == expected
