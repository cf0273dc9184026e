"""The turn prompt's layout: what changes every turn comes last, so little is re-read."""

from __future__ import annotations

from agent.backends.llama_cpp import LlamaCppBackend
from agent.config import LLMSettings
from agent.turn.prompt import (
    HistoryLimits,
    SessionPrompts,
    chat_messages,
    clip_answer,
    history_start,
    stands_alone,
)

SYSTEM = "You are a patient science tutor. Answer in two short sentences."
ANSWER = (
    "Plants take in light, water and carbon dioxide and make sugar and oxygen. The sugar "
    "feeds the plant, and the oxygen goes into the air we breathe every day."
)
CONVERSATION = [
    {"role": "user", "content": "What is photosynthesis?"},
    {"role": "assistant", "content": ANSWER},
    {"role": "user", "content": "Where does the oxygen go?"},
    {"role": "assistant", "content": ANSWER},
    {"role": "user", "content": "Why do leaves look green?"},
]


def test_instructions_sit_between_the_conversation_and_the_question():
    messages = chat_messages(SYSTEM, CONVERSATION, "For this reply: be brief.")
    assert [m["role"] for m in messages] == [
        "system", "user", "assistant", "user", "assistant", "system", "user",
    ]  # fmt: skip
    assert messages[-2]["content"] == "For this reply: be brief."
    assert messages[-1]["content"] == "Why do leaves look green?"


def test_a_first_question_keeps_its_instructions_next_to_the_system_prompt():
    """The saved prompt states (tutor prompt + notes, then the hint) still cover turn one."""
    messages = chat_messages(SYSTEM, CONVERSATION[:1], "For this reply: be brief.")
    assert [m["role"] for m in messages] == ["system", "system", "user"]


def test_history_is_cut_to_half_the_budget_once_it_is_passed():
    assert history_start([10, 10, 10], budget=40) == 0
    assert history_start([10, 10, 10, 5, 5], budget=40) == 0  # exactly the budget
    assert history_start([10, 10, 10, 5, 6], budget=40) == 3  # 41: down to <= 20
    assert history_start([10, 10, 10, 20], budget=40) == 2  # the last exchange stays
    assert history_start([8, 60], budget=40) == 0  # even over budget
    assert history_start([], budget=40) == 0


def test_the_kept_history_only_grows_between_cuts():
    """Turn after turn the kept messages are the same prefix, so nothing is re-read."""
    words = [5, 30, 5, 30, 5, 30, 5, 30, 5, 30]
    starts = [history_start(words[:n], budget=100) for n in range(1, len(words) + 1)]
    assert starts == sorted(starts)
    assert len(set(starts)) < len(starts) // 2


def test_history_words_bounds_the_conversation_sent():
    messages = chat_messages(SYSTEM, CONVERSATION, "Be brief.", HistoryLimits(40, 0))
    kept = [m for m in messages if m["role"] in ("user", "assistant")]
    assert kept[-1]["content"] == "Why do leaves look green?"  # the question always stays
    assert sum(len(m["content"].split()) for m in kept[:-1]) <= 40


def test_past_answers_are_cut_to_their_opening_sentence():
    messages = chat_messages(SYSTEM, CONVERSATION, "Be brief.", HistoryLimits(80, 20))
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    assert answers and all(a == ANSWER.split(". ")[0] + "." for a in answers)
    assert messages[-1]["content"] == "Why do leaves look green?"  # the learner's words stay
    assert clip_answer("one two three four five six", 3) == "one two three"
    short_first = "Yes. It is so because of light."
    assert clip_answer(short_first, 20) == short_first  # "Yes." alone is too short to end it
    assert clip_answer(ANSWER, 0) == ANSWER


async def test_a_follow_up_on_the_same_topic_reads_only_its_own_turn():
    """The real model: the next prompt of a session extends the last one, earlier
    instructions included, so only the new instructions and question are read."""
    backend = LlamaCppBackend(LLMSettings(context_tokens=1024, prefix_cache_entries=0))
    first_question = CONVERSATION[:1]
    said = "For this reply: be brief."
    answered = [*chat_messages(SYSTEM, first_question, said), CONVERSATION[1]]
    assert await backend.prefill(answered) > 50  # as if the answer had been generated
    follow_up = chat_messages(
        SYSTEM, CONVERSATION[:3], "For this reply: end with a question.",
        past_instructions={0: (CONVERSATION[0]["content"], said)},
    )  # fmt: skip
    assert follow_up[: len(answered)] == answered
    assert 0 < await backend.prefill(follow_up) < 40


async def test_a_new_hint_rereads_the_tail_not_the_conversation():
    """The real model: the same conversation under another planner hint reads only the
    hint and the question again."""
    backend = LlamaCppBackend(LLMSettings(context_tokens=1024, prefix_cache_entries=0))
    first = await backend.prefill(chat_messages(SYSTEM, CONVERSATION, "For this reply: be brief."))
    again = await backend.prefill(
        chat_messages(SYSTEM, CONVERSATION, "For this reply: end with a question.")
    )
    assert first > 100
    assert 0 < again < 40


def _session(prompts: SessionPrompts, turns: list[tuple[str, str]]) -> list[list[dict]]:
    """Commit one turn per (system message, question), each answered with ANSWER."""
    context: list[dict] = []
    sent = []
    for number, (system, question) in enumerate(turns):
        context.append({"role": "user", "content": question})
        sent.append(prompts.commit(system, context, f"For this reply: hint {number}."))
        context.append({"role": "assistant", "content": ANSWER})
    return sent


def test_within_a_topic_each_prompt_extends_the_last():
    questions = ["What is light?", "Why?", "And at night?"]
    sent = _session(SessionPrompts(HistoryLimits(200, 20)), [(SYSTEM, q) for q in questions])
    for before, after in zip(sent, sent[1:], strict=False):
        assert after[: len(before)] == before
    assert [m["content"] for m in sent[-1] if m["role"] == "system"][1:] == [
        "For this reply: hint 0.", "For this reply: hint 1.", "For this reply: hint 2.",
    ]  # fmt: skip


def test_a_new_topic_keeps_the_last_exchange_and_drops_old_instructions():
    other = SYSTEM + " Notes: [1] Bees make honey from nectar."
    prompts = SessionPrompts(HistoryLimits(200, 20))
    turns = [(SYSTEM, "What is light?"), (SYSTEM, "Why?"), (other, "How do they make honey?"),
             (other, "Why nectar?")]  # fmt: skip
    sent = _session(prompts, turns)
    new_topic = sent[2]
    assert [m["role"] for m in new_topic] == ["system", "user", "assistant", "system", "user"]
    assert new_topic[1]["content"] == "Why?"  # the last exchange stays for a follow-up
    assert new_topic[-2]["content"] == "For this reply: hint 2."
    assert sent[3][: len(new_topic)] == new_topic  # and the topic's next turn extends it
    assert prompts.since == 2 and set(prompts.past) == {4, 6}  # none from before the cut


def test_a_new_topic_that_stands_alone_starts_without_the_last_exchange():
    other = SYSTEM + " Notes: [1] Bees make honey from nectar."
    turns = [(SYSTEM, "What is light?"), (SYSTEM, "Why?"), (other, "How do bees make honey?"),
             (other, "Why nectar?")]  # fmt: skip
    prompts = SessionPrompts(HistoryLimits(200, 20))
    sent = _session(prompts, turns)
    assert [m["role"] for m in sent[2]] == ["system", "system", "user"]
    assert sent[2][-1]["content"] == "How do bees make honey?"
    assert sent[3][: len(sent[2])] == sent[2]  # the topic's next turn extends it
    assert prompts.since == 4 and set(prompts.past) == {4, 6}
    # Turned off, the same question keeps the last exchange.
    kept = _session(SessionPrompts(HistoryLimits(200, 20, fresh_topics=False)), turns)[2]
    assert [m["content"] for m in kept[1:3]] == ["Why?", clip_answer(ANSWER, 20)]


def test_a_question_stands_alone_unless_it_points_back():
    alone = ["What is gravity?", "Why do birds migrate in winter", "How does a rainbow form?"]
    follow_ups = [
        "Why?", "Does it work on the moon?", "What's its mass?", "Tell me more",
        "And how do plants grow?", "What about bees?", "How do they find home?",
    ]  # fmt: skip
    assert all(stands_alone(q) for q in alone)
    assert not any(stands_alone(q) for q in follow_ups)


def test_a_preview_remembers_nothing():
    other = SYSTEM + " Notes: [1] Bees make honey from nectar."
    prompts = SessionPrompts(HistoryLimits(200, 20))
    _session(prompts, [(SYSTEM, "What is light?"), (SYSTEM, "Why?")])
    before = (dict(prompts.past), prompts.since, prompts.system)
    context = [
        {"role": "user", "content": "What is light?"}, {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": "Why?"}, {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": "How do bees make honey?"},
    ]  # fmt: skip
    preview = prompts.preview(other, context, "For this reply: hint 2.")
    assert (dict(prompts.past), prompts.since, prompts.system) == before
    assert prompts.commit(other, context, "For this reply: hint 2.") == preview


def test_without_history_limits_a_new_topic_cuts_nothing():
    other = SYSTEM + " Notes: [1] Bees make honey from nectar."
    turns = [(SYSTEM, "What is light?"), (SYSTEM, "Why?"), (other, "How do bees make honey?")]
    sent = _session(SessionPrompts(None), turns)
    assert sum(m["role"] == "user" for m in sent[-1]) == 3


def test_a_long_session_remembers_only_what_its_prompts_still_send():
    prompts = SessionPrompts(HistoryLimits(30, 8))
    sent = _session(prompts, [(SYSTEM, f"Question number {n}?") for n in range(12)])
    assert len(prompts.past) <= 4  # not one entry per turn of the session
    kept_questions = {m["content"] for m in sent[-1] if m["role"] == "user"}
    assert all(prompts.past[i][0] in kept_questions for i in prompts.past)


def test_the_upcoming_prefix_is_how_the_next_prompt_starts():
    """Same topic, a change of topic, and a cut of the history: what is read ahead once the
    tutor has answered is exactly the next prompt's start."""
    other = SYSTEM + " Notes: [1] Bees make honey from nectar."
    prompts = SessionPrompts(HistoryLimits(30, 8))
    context: list[dict] = []
    for number, (system, question) in enumerate(
        [(SYSTEM, "What is light?"), (SYSTEM, "Why?"), (other, "How do they make honey?"),
         (other, "Why nectar?"), (SYSTEM, "And light again?"), (SYSTEM, "Is it fast?"),
         (SYSTEM, "Is it hot?"), (SYSTEM, "Can we see it?")]
    ):  # fmt: skip
        ahead = prompts.upcoming(system, context)
        context.append({"role": "user", "content": question})
        sent = prompts.commit(system, context, f"For this reply: hint {number}.")
        context.append({"role": "assistant", "content": ANSWER})
        if number == 0:
            assert ahead == []  # nothing answered yet
            continue
        assert ahead and sent[: len(ahead)] == ahead
        assert sent[len(ahead) :] == [
            {"role": "system", "content": f"For this reply: hint {number}."},
            {"role": "user", "content": question},
        ]
    assert "Why nectar?" not in [m["content"] for m in sent]  # the word budget cut it
    assert prompts.upcoming(SYSTEM, context[:-1]) == []  # a question waits for its answer
