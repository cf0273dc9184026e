"""What a learner's turn asks of the tutor, from its words alone.

Rules, not a model: they are few, they run in microseconds on the hot path, and a wrong
guess here only picks another facet of the right concept. The order matters: a follow-up
("give me an example") is recognised before a new question is looked for.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Intent(StrEnum):
    DEFINE = "define"  # what is X / tell me about X
    WHY = "why"  # why / how does X work
    EXAMPLE = "example"  # give me an example
    WHAT_IF = "what_if"  # what would happen if ...
    CONFUSED = "confused"  # I don't get it
    MORE = "more"  # tell me more / go on
    SUMMARY = "summary"  # sum it up
    QUIZ = "quiz"  # test me / ask me a question
    MISCONCEPTION = "misconception"  # what do people get wrong
    YES_NO = "yes_no"  # is it true that / do heavier things fall faster
    SPECIFIC = "specific"  # how many / how far / which / when / who
    GREETING = "greeting"
    THANKS = "thanks"
    BYE = "bye"
    DONT_KNOW = "dont_know"  # I don't know (an answer to a check question)
    STATEMENT = "statement"  # anything else


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b")


FOLLOW_UPS: list[tuple[Intent, re.Pattern[str]]] = [
    (Intent.EXAMPLE, _any(r"(?:an?|another|one more|some|real[- ]life|for) examples?",
                          r"^examples?(?: please)?$",
                          r"for instance", r"example of (?:that|this|it)",
                          r"show me", r"like what")),
    (Intent.WHAT_IF, _any(r"what (?:would|will|could|might) happen", r"what if",
                          r"suppose", r"imagine if", r"what happens if", r"what happens when")),
    (Intent.CONFUSED, _any(r"(?:i )?(?:do ?n[o']?t|dont|still don ?t) (?:get|understand|follow)",
                           r"i'?m (?:confused|lost)", r"confusing", r"makes? no sense",
                           r"(?:explain|say) (?:it|that) (?:again|another way|differently)",
                           r"(?:explain|say) (?:it|that) (?:simpler|more simply)",
                           r"simpler", r"what do you mean", r"huh", r"i'?m not sure i get")),
    (Intent.MISCONCEPTION, _any(r"(?:common )?mistakes?", r"misconceptions?",
                                r"get wrong", r"mix(?:ed)? up", r"myths?")),
    (Intent.SUMMARY, _any(r"sum (?:it|that|this) up", r"summar(?:y|ise|ize)", r"in short",
                          r"in a nutshell", r"key (?:point|idea)", r"recap", r"tl ?dr")),
    (Intent.QUIZ, _any(r"(?:test|quiz|check) me", r"ask me (?:a|another|some)? ?questions?",
                       r"give me a question", r"can you test")),
    (Intent.WHY, _any(r"^why\b", r"^how come", r"^how does (?:that|it|this) work",
                      r"why is that", r"why does (?:that|it|this)", r"^how so",
                      r"explain (?:why|how)", r"but why", r"^and why")),
    (Intent.MORE, _any(r"tell me more", r"more about (?:it|that|this)", r"go on",
                       r"keep going", r"carry on", r"and then", r"what else", r"continue",
                       r"more detail")),
]  # fmt: skip

GREETING = _any(r"^(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))(?: there)?$",
                r"^how are you")  # fmt: skip
THANKS = _any(r"^(?:ok(?:ay)?|great|cool|nice|awesome)?\s*(?:thanks?|thank you|cheers)")
BYE = _any(r"^(?:ok(?:ay)? )?(?:bye|goodbye|see you|that'?s all|i'?m done|stop)$")
DONT_KNOW = _any(r"i (?:do ?n[o']?t|dont) know", r"no idea", r"not sure", r"i give up",
                 r"can'?t remember", r"pass")  # fmt: skip
DEFINE = re.compile(
    r"^(?:so |and |but |ok(?:ay)? |um |uh |please )*(?:(?:can|could|would) you |please )?"
    r"(?:what(?:'s| is| are| was| were)|whats|define|definition of|meaning of|"
    r"tell me (?:about|what)|explain|describe|teach me(?: about)?|i want to (?:know|learn) about|"
    r"what does .+ mean|what do you (?:know|call)|who (?:is|was))\b"
)
WHY = re.compile(r"^(?:so |and |but |um |ok(?:ay)? )*(?:why|how)\b")
YES_NO = re.compile(
    r"^(?:so |and |but |um |ok(?:ay)? )*(?:is|are|was|were|do|does|did|can|could|will|would|"
    r"should|has|have|true or false)\b"
)
SPECIFIC = re.compile(
    r"^(?:so |and |but |um |ok(?:ay)? )*(?:how (?:many|much|far|long|big|fast|hot|cold|old|heavy)|"
    r"which|when|where|who|whose|name)\b"
)
# a definitional question that asks for one measured fact: "what is the speed of light"
MEASURE = re.compile(r"\b(?:speed|distance|temperature|size|number|boiling point|"
                     r"melting point|mass|weight|age|length|height|depth|biggest|largest|"
                     r"smallest|closest|nearest|farthest|furthest|fastest|slowest|hottest|"
                     r"coldest|highest|lowest|longest|shortest|heaviest|lightest)\b")  # fmt: skip
QUANTITY = re.compile(  # "which metal is liquid at room temperature" asks for no number
    r"\bhow (?:many|much|far|long|big|fast|hot|cold|old|heavy|tall|deep)\b|"
    r"\bwhat(?:'s| is| are| was)? (?:the |its |their )?"
    r"(?:speed|distance|temperature|boiling point|melting point)\b"
)
NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|"
    r"half|quarter|third|sixth)\b",
    re.IGNORECASE,
)


WH_START = re.compile(r"^(?:so |and |but |um |ok(?:ay)? )*(?:what|why|how|which|when|where|who)\b")


ASKS_BACK = re.compile(
    r"^(?:so |and |but |um |ok(?:ay)? )*(?:what|why|how|which|when|where|who|do|does|did|can"
    r"|could|would|will|should|tell me|explain)\b"
)


def asks_back(text: str) -> bool:
    """A question of the learner's own ("how far away is it?", "do heavier things fall
    faster?"), not a guess put as a question ("is it gravity?")."""
    return bool(ASKS_BACK.search(clean(text))) and len(clean(text).split()) >= 3


DIFFERENCE = re.compile(r"\b(?:difference|differences|compare|versus|vs)\b")


def clean(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").strip(" .?!").split())


def follow_up(text: str) -> Intent | None:
    """What a follow-up asks of the current concept, or None if it is not one."""
    words = clean(text)
    for intent, pattern in FOLLOW_UPS:
        if pattern.search(words):
            return intent
    return None


def social(text: str) -> Intent | None:
    words = clean(text)
    for intent, pattern in ((Intent.GREETING, GREETING), (Intent.THANKS, THANKS),
                            (Intent.BYE, BYE)):  # fmt: skip
        if pattern.search(words):
            return intent
    return None


ACKNOWLEDGEMENTS = frozenset(
    {"ok", "okay", "alright", "all right", "hmm", "mm", "mhm", "uh huh", "i see", "got it"}
)


def acknowledgement(text: str) -> bool:
    """A learner's "okay" or "hmm": heard, and no answer."""
    return clean(text).strip() in ACKNOWLEDGEMENTS


def dont_know(text: str) -> bool:
    return bool(DONT_KNOW.search(clean(text)))


def question_kind(text: str) -> Intent:
    """What kind of answer a question about a concept wants."""
    words = clean(text)
    if follow := follow_up(words):
        if follow in (Intent.EXAMPLE, Intent.WHAT_IF, Intent.MISCONCEPTION, Intent.SUMMARY):
            return follow
    if SPECIFIC.search(words):
        return Intent.SPECIFIC
    if WHY.search(words):
        return Intent.WHY
    if DEFINE.search(words):
        if DIFFERENCE.search(words):
            return Intent.DEFINE
        return Intent.SPECIFIC if MEASURE.search(words) else Intent.DEFINE
    if YES_NO.search(words):
        return Intent.YES_NO
    if len(words.split()) <= 4 and not WH_START.search(words):
        return Intent.DEFINE  # "photosynthesis?", "tell me photosynthesis"
    return Intent.SPECIFIC


def asks_quantity(text: str) -> bool:
    return bool(QUANTITY.search(clean(text)))


HOW_IT_WORKS = re.compile(
    r"^(?:so |and |but |um |ok(?:ay)? )*how (?:do|does|did|can|is|are)\b"
    r".*\b(?:work|works|happen|happens|made|formed|form)$"
)


def asks_workings(text: str) -> bool:
    """ "How do magnets work?", "how does a rainbow form": the mechanism, not a definition."""
    return bool(HOW_IT_WORKS.search(clean(text)))


def has_number(text: str) -> bool:
    return bool(NUMBER.search(text))


def is_question(text: str) -> bool:
    words = clean(text)
    return text.strip().endswith("?") or bool(
        DEFINE.search(words) or WHY.search(words) or YES_NO.search(words)
        or SPECIFIC.search(words) or WH_START.search(words)
    )  # fmt: skip
