"""The word-level tools the tutor's matching shares: normal form, a crude stem, the words
that carry no topic, and repairs for the slips ASR and hurried typing make."""

from __future__ import annotations

import re

FUNCTION_WORDS = frozenset(
    "a an the is are was were be been do does did doing can could will would should may might "
    "must i you he she it we they me my your our their its this that these those there here "
    "what why how which when where who whom whose of to in on at by for from with about into "
    "than then so and or but if not no yes very really just also too please tell explain "
    "happen happens make makes get gets have has had some any much many more most".split()
)

# Question words as ASR and quick typing garble them ("wat is fotosynthesis").
QUESTION_WORD_SLIPS = {
    "wat": "what", "wot": "what", "whut": "what", "wht": "what", "wats": "whats",
    "hw": "how", "howe": "how", "wy": "why", "whi": "why", "wich": "which", "wen": "when",
    "wer": "where", "wher": "where",
}  # fmt: skip


QUESTION_WORDS = frozenset({"what", "why", "how", "when", "where", "which", "who"})


def naming_words(names: tuple[str, ...]) -> set[str]:
    """The words of a concept's names; an alias worded as a question ("what is water made
    of") helps find the concept but names nothing."""
    named = set()
    for name in names:
        words = normalise(name).split()
        if not QUESTION_WORDS & set(words):
            named.update(words)
    return named


def normalise(text: str) -> str:
    """Lower case, apostrophes dropped ("newton's" → "newtons"), other marks as spaces."""
    text = text.lower().replace("’", "'").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def stem(word: str) -> str:
    """A crude English stem, enough to match 'stops' with 'stop', 'breathes' with 'breathe',
    'boxes' with 'box' and 'vaccines' with 'vaccine'."""
    if len(word) <= 4 or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    for suffix in ("ing", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def topic_stems(text: str, leave_out: frozenset[str] = frozenset()) -> set[str]:
    """The stems of a text's content words, less those in `leave_out` (a concept's names)."""
    return {
        stem(word)
        for word in normalise(text).split()
        if word not in FUNCTION_WORDS and stem(word) not in leave_out
    }


def repair_question_words(text: str) -> str:
    """'wat is fotosynthesis' → 'what is fotosynthesis' (names are repaired by the matcher)."""
    words = text.split()
    for i, word in enumerate(words):
        core = word.lower().strip("?.!,")
        if core in QUESTION_WORD_SLIPS:
            words[i] = word.lower().replace(core, QUESTION_WORD_SLIPS[core], 1)
    return " ".join(words)
