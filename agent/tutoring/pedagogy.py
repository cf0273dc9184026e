"""The planner's side of a turn: what it observed, and what its chosen action adds.

The turn first finds what answers the learner (agent/tutoring/turn.py). That reply, with its
grade when it answered a check question, is the planner's observation; the planner then
chooses an action for the concept, and the action selects a facet to add: a check question,
an example, the common mix-up as a hint, the summary, the explanation after feedback, a word
of encouragement, or nothing (pause). A concept the learner now has is followed by what it
leads to.
"""

from __future__ import annotations

from dataclasses import replace

from agent.tutoring.curriculum import Concept, Curriculum
from agent.tutoring.grading import Grade
from agent.tutoring.intents import is_question
from agent.tutoring.state import TurnReply, TutorState
from planner.observations import LearnerSignals, dialogue_observation

SHAPED_MODES = frozenset({"facet", "grade"})  # replies an action may add to
ENCOURAGE_QUESTION = "Good question!"
ENCOURAGE = "You're doing well."


def observation(
    reply: TurnReply, text: str, check_was_pending: bool, signals: LearnerSignals
) -> dict[str, str]:
    """The planner's observation of this turn (planner/model.py MODALITIES)."""
    if reply.grade is not None:
        answer = "none" if reply.grade is Grade.NO_ANSWER else reply.grade.value
    else:  # a pending question the learner did not answer ("none"), or nothing asked
        answer = "none" if check_was_pending else "unasked"
    return {
        "answer": answer,
        "question": "yes" if is_question(text) else "no",
        "silence": signals.silence,
        "face": signals.face,
    }


def ask_check(state: TutorState, concept: Concept) -> str:
    """The next check question on `concept` not yet asked (all asked: from the start)."""
    asked = state.asked.setdefault(concept.id, set())
    unasked = [i for i in range(len(concept.checks)) if i not in asked]
    index = (unasked or list(range(len(concept.checks))))[0]
    asked.add(index)
    state.pending_check = (concept.id, index)
    return concept.checks[index].question


def next_concepts(curriculum: Curriculum, concept: Concept) -> list[Concept]:
    """Concepts that build on `concept`, in the curriculum's order."""
    return [c for c in curriculum.ordered() if concept.id in c.prerequisites]


def shaped(
    state: TutorState,
    curriculum: Curriculum,
    reply: TurnReply,
    action: str,
    text: str,
    mastered: bool,
) -> TurnReply:
    """The reply with the action's part added (facet and graded replies only)."""
    concept = reply.concept
    if reply.mode not in SHAPED_MODES or concept is None or reply.check or reply.text is None:
        return replace(reply, action=action)
    given = state.given
    said, check = [reply.text], None
    reply = replace(reply, main=reply.text)
    if reply.grade is Grade.CORRECT and mastered:
        after = next_concepts(curriculum, concept)
        if after:
            said.append(f"You've got {concept.name}. Next, you could ask me about "
                        f"{after[0].name}.")  # fmt: skip
        return replace(reply, text=" ".join(said), action=action)
    if action == "check":
        check = ask_check(state, concept)
        said.append(f"Here's a question for you: {check}")
    elif action == "example" and reply.facet != "example" and not _examples_given(given):
        said.append(f"For example: {concept.examples[0]}")
        given.add("example0")
    elif action == "hint" and "misconception" not in given and reply.facet != "misconception":
        said.append(f"Here's a common mix-up. {concept.misconception} {concept.correction}")
        given.add("misconception")
    elif action == "summarise" and "summary" not in given and reply.facet != "summary":
        said.append(f"In short: {concept.summary}")
        given.add("summary")
    elif action == "explain" and reply.mode == "grade" and "explanation" not in given:
        said.append(concept.explanation)
        given.add("explanation")
    elif action == "encourage" and reply.mode == "grade":
        said.append(ENCOURAGE)
    elif action == "encourage":
        said.insert(0, ENCOURAGE_QUESTION if is_question(text) else ENCOURAGE)
    return replace(reply, text=" ".join(said), action=action, check=check)


def _examples_given(given: set[str]) -> bool:
    return any(key.startswith("example") for key in given)


def model_turn(state: TutorState, text: str, signals: LearnerSignals) -> TurnReply:
    """Without a curriculum the model writes every reply; the planner still observes the
    turn (from the words alone) and chooses the action whose hint steers the model."""
    last = state.lesson.last.action if state.lesson.last else None
    state.lesson.observe(dialogue_observation(text, last, signals))
    decision = state.lesson.decide()
    return TurnReply(None, "model", action=decision.action, decision=decision)
