"""How a turn's prompt is laid out, so that llama.cpp re-reads as little of it as possible.

llama.cpp keeps the KV cache of the longest prefix a new prompt shares with the last one, and
everything after the first difference is read again (250-400 tokens/s here). So the prompt goes
from what changes least to what changes most:

1. the tutor prompt with the question's notes (restored from a saved state when the topic
   was seen before, agent/backends/prefix_cache.py);
2. the conversation so far, cut to `HistoryLimits` (below): the tutor's past answers to
   their opening sentence, the whole to a word budget;
3. this turn's instructions (the planner's hint, tool facts), which change every turn;
4. the learner's question.

Earlier turns keep their instructions in place, so within a topic each prompt only extends
the one before (only the new instructions and question are read). With the instructions
ahead of the conversation, as before, a new hint made every turn re-read the whole
conversation: time to first token grew with each turn of a session (0.1 s at the first
question, 3.8 s at the fourth, in one session of four questions here).

A change of topic (other notes in the system message) re-reads everything after the notes
whatever the layout, so `SessionPrompts` then keeps only the last exchange and drops the
earlier turns' instructions: what is re-read is what the new topic needs. A question that
stands alone (`stands_alone`: no word pointing back at what was said) keeps not even that
(`HistoryLimits.fresh_topics`): the last exchange was most of what such a turn read (~50 of
~65 tokens, ~0.3 s here), and the question does not need it. Between turns
`SessionPrompts.upcoming` gives the next prompt's start under a given system message, which
the LLM service reads ahead (agent/turn/service.py) for this topic and for none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.backends.base import ChatMessage
from agent.config.prompts import ACTION_HINTS, REPLY_INSTRUCTION
from planner.observations import text_of


@dataclass(frozen=True)
class HistoryLimits:
    """How much of the conversation a prompt carries (llm.history_words, llm.answer_words).

    A change of topic re-reads all of it, so it is kept short: the tutor's past answers are
    cut to their opening sentence (at most answer_words words), the learner's words kept;
    with `fresh_topics` (llm.fresh_topics), a new topic's question that stands alone is
    sent without the last exchange.
    """

    words: int = 40
    answer_words: int = 20
    fresh_topics: bool = True


# Words by which a question points back at the conversation ("Why does it fall?", "What
# about the other one?"), and first words that continue it ("And in winter?"): a question
# with one of them keeps the last exchange.
BACK_REFERENCES = frozenset(
    "it its itself that this these those they them their theirs there he him his she her hers "
    "one ones more else again also too same other another instead about".split()
)
CONTINUATIONS = frozenset("and but so or then plus".split())  # "also": above


def stands_alone(question: str) -> bool:
    """Whether a question can be answered without the conversation before it: at least three
    words, none pointing back at it, not opening as a continuation. A miss only costs time
    (the last exchange is read again), so the test leans towards keeping it."""
    words = [w.strip('.,!?;:"').lower() for w in question.split()]
    words = [w.removesuffix("'s") for w in words if w]
    if len(words) < 3 or words[0] in CONTINUATIONS:
        return False
    return not any(w in BACK_REFERENCES for w in words)


def clip_answer(text: str, words: int) -> str:
    """The opening sentence of an answer, at most `words` words (0 = the whole answer)."""
    if words <= 0:
        return text
    kept: list[str] = []
    for word in text.split()[:words]:
        kept.append(word)
        if word[-1] in ".!?" and len(kept) >= 4:
            break
    return " ".join(kept)


def history_start(words: list[int], budget: int) -> int:
    """Index of the first message kept, given each message's word count.

    Messages are kept while they fit in `budget` words; past it, the oldest go until at most
    half the budget is left or only the last exchange (two messages) remains. The start only
    moves forward as a conversation grows, and only when the budget is passed, so from one
    turn to the next the kept history is usually the same prefix (nothing re-read).
    """
    start, held = 0, 0
    for end, count in enumerate(words, start=1):
        held += count
        if held > budget:
            while held > budget // 2 and start < end - 2:
                held -= words[start]
                start += 1
    return start


def conversation(context_messages: list[Any]) -> list[ChatMessage]:
    """The user/assistant text turns of a context, stripped (tool and empty ones dropped)."""
    turns: list[ChatMessage] = []
    for message in context_messages:
        role = message.get("role") if isinstance(message, dict) else None
        text = text_of(message.get("content")) if role else ""
        if role in ("user", "assistant") and text.strip():
            turns.append({"role": role, "content": text.strip()})
    return turns


# A session's earlier turn instructions: conversation index of the user message -> (its
# text, the instructions sent with it).
PastInstructions = dict[int, tuple[str, str]]


def chat_messages(
    system_prompt: str,
    context_messages: list[Any],
    turn_instructions: str = "",
    history: HistoryLimits | None = None,
    past_instructions: PastInstructions | None = None,
    since: int = 0,
) -> list[ChatMessage]:
    """System prompt, the conversation (within `history`, nothing before index `since`),
    this turn's instructions as a system message, then the learner's latest message.

    Earlier turns' instructions stay where they were sent (before their question), so a
    session's next prompt extends the last one instead of differing from it there.
    """
    messages, _start = _layout(system_prompt, conversation(context_messages), turn_instructions,
                               history, past_instructions or {}, since)  # fmt: skip
    return messages


def _layout(
    system_prompt: str,
    turns: list[ChatMessage],
    turn_instructions: str,
    history: HistoryLimits | None,
    past: PastInstructions,
    since: int,
) -> tuple[list[ChatMessage], int]:
    """The prompt's messages, and the conversation index of the first message kept."""
    turns = list(turns)
    question = [turns.pop()] if turns and turns[-1]["role"] == "user" else []
    start = min(since, len(turns))
    if history is not None:
        turns = [
            {"role": "assistant", "content": clip_answer(m["content"], history.answer_words)}
            if m["role"] == "assistant" else m
            for m in turns
        ]  # fmt: skip
        words = [len(m["content"].split()) for m in turns[start:]]
        start += history_start(words, history.words)
    kept: list[ChatMessage] = []
    for index in range(start, len(turns)):
        text, said = past.get(index, ("", ""))
        if said and turns[index]["role"] == "user" and turns[index]["content"] == text:
            kept.append({"role": "system", "content": said})
        kept.append(turns[index])
    instructions: list[ChatMessage] = []
    if turn_instructions.strip():
        instructions.append({"role": "system", "content": turn_instructions.strip()})
    return [{"role": "system", "content": system_prompt}, *kept, *instructions, *question], start


@dataclass
class SessionPrompts:
    """What a session's earlier prompts held, so that the next one extends them.

    `past` is what each earlier turn was instructed (kept in place in later prompts);
    `since` the first conversation index still sent; `system` the last system message. When
    a turn's system message differs (a new topic's notes), everything after it is read again
    anyway: the conversation then restarts at the last exchange and earlier instructions go.
    """

    history: HistoryLimits | None = None
    past: PastInstructions = field(default_factory=dict)
    since: int = 0
    system: str | None = None

    def _memory(
        self, system: str, question_at: int, question: str = ""
    ) -> tuple[PastInstructions, int]:
        """The earlier instructions kept and the first conversation index sent, for a turn
        under `system` asking `question` (empty: not known yet, taken as a follow-up)."""
        if self.history is None or self.system is None or self.system == system:
            return self.past, self.since
        if self.history.fresh_topics and stands_alone(question):
            return {}, question_at
        return {}, max(0, question_at - 2)

    def _question_memory(
        self, system: str, turns: list[ChatMessage]
    ) -> tuple[PastInstructions, int, int]:
        """_memory for the turn these messages end with; also the question's index."""
        question_at = len(turns) - 1
        asked = turns[-1]["content"] if turns and turns[-1]["role"] == "user" else ""
        return (*self._memory(system, question_at, asked), question_at)

    def preview(
        self, system: str, context_messages: list[Any], instructions: str = ""
    ) -> list[ChatMessage]:
        """The prompt a turn would send, remembering nothing (for reading ahead)."""
        turns = conversation(context_messages)
        past, since, _ = self._question_memory(system, turns)
        return _layout(system, turns, instructions, self.history, past, since)[0]

    def upcoming(self, system: str, context_messages: list[Any]) -> list[ChatMessage]:
        """The start of the next turn's prompt under `system`, once the tutor has answered:
        every message before that turn's instructions and question (empty while the
        conversation does not end with an answer). Read before the learner asks, it leaves
        the turn only its own instructions and question to read. Under another topic's
        `system` it is the start a follow-up gets (a question that stands alone starts
        right after the system message, which has a saved state of its own)."""
        turns = conversation(context_messages)
        if not turns or turns[-1]["role"] != "assistant":
            return []
        past, since = self._memory(system, len(turns))
        asked = [*turns, {"role": "user", "content": ""}]  # the question yet to come
        return _layout(system, asked, "", self.history, past, since)[0][:-1]

    def commit(
        self, system: str, context_messages: list[Any], instructions: str = ""
    ) -> list[ChatMessage]:
        """The prompt a turn sends, remembered for the turns after it."""
        turns = conversation(context_messages)
        past, since, question_at = self._question_memory(system, turns)
        messages, start = _layout(system, turns, instructions, self.history, past, since)
        # The history cut only moves forward: what it dropped is never sent again.
        self.past = {index: said for index, said in past.items() if index >= start}
        if turns and turns[-1]["role"] == "user":
            self.past[question_at] = (turns[-1]["content"], instructions.strip())
        self.since, self.system = since, system
        return messages


def reply_instruction(action: str) -> str:
    """The turn instruction that carries the planner's action (agent/config/prompts.py)."""
    return REPLY_INSTRUCTION.format(hint=ACTION_HINTS[action])
