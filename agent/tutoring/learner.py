"""The learner model: the planner's belief that the learner has each concept, by concept.

It is the EFE planner's own knowledge factor (planner/lesson.py): a graded answer to a
check question, a taught facet and the learner's signals all move it through the same
POMDP, so the mastery the page shows is what the planner decides with. A concept not met
yet starts from its prerequisites: knowing them makes it likelier known and quicker to learn.
"""

from __future__ import annotations

from agent.tutoring.curriculum import Curriculum
from planner.lesson import LessonPlanner, starting_point


def mastery(lesson: LessonPlanner, curriculum: Curriculum, concept_id: str) -> float:
    """P(learned): the lesson's belief, or for a concept not met, its starting point."""
    known = lesson.mastery(concept_id)
    if known is not None:
        return known
    return _start(lesson, curriculum, concept_id)[0]


def _start(lesson: LessonPlanner, curriculum: Curriculum, concept_id: str) -> tuple[float, float]:
    needed = curriculum[concept_id].prerequisites
    return starting_point([mastery(lesson, curriculum, n) for n in needed])


def focus(lesson: LessonPlanner, curriculum: Curriculum, concept_id: str) -> None:
    """The conversation is on `concept_id` now: the planner reasons about it."""
    if concept_id != lesson.concept_id:
        prior, readiness = _start(lesson, curriculum, concept_id)
        lesson.focus(concept_id, prior, readiness)
