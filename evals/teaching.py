"""Teaching simulated learners: EFE against greedy, a fixed script and chance.

One lesson is the curriculum's first arithmetic concepts in prerequisite order, taught to
knowledge-tracing learners (planner/learners.py) whose rates are drawn from a population,
not from the planner's matrices. Every strategy gets the same learners (same hidden state,
same random stream) and the same number of turns. The planner-driven strategies move on
when they believe the concept is mastered (mastery learning's bar) or after MAX_TURNS_ON
turns on it; the script moves on when its steps are done. The result is the share of the
lesson the learners did not know and learned (learning gain) and the turns until they knew
all of it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from planner.learners import KTLearner, population
from planner.lesson import LessonPlanner, starting_point
from planner.model import TutoringModel

LESSON = ("place_value", "multiplication", "division", "fractions", "equivalent_fractions",
          "adding_fractions", "decimals", "percentages")  # fmt: skip
TURNS = 40
MAX_TURNS_ON = 10
SCRIPT = ("explain", "example", "check", "hint", "summarise")
FIRST_LOOK = {"answer": "unasked", "question": "yes", "silence": "short", "face": "present"}


@dataclass
class Outcome:
    gain: float  # share of the unknown concepts learned by the end
    turns_to_mastery: int | None  # turn at which every concept was known
    concepts_taught: int


Chooser = Callable[[LessonPlanner, int, np.random.Generator], str]


def planner_choice(planner: LessonPlanner, _step: int, _rng) -> str:
    return planner.decide().action


def script_choice(planner: LessonPlanner, step: int, _rng) -> str:
    action = SCRIPT[step % len(SCRIPT)]
    planner.choose(action)
    return action


def random_choice(planner: LessonPlanner, _step: int, rng: np.random.Generator) -> str:
    action = planner.model.actions[int(rng.integers(len(planner.model.actions)))]
    planner.choose(action)
    return action


STRATEGIES: dict[str, tuple[bool, Chooser, bool]] = {
    # name: (planner scores information gain, chooser, moves on by belief)
    "efe": (True, planner_choice, True),
    "greedy": (False, planner_choice, True),
    "fixed_script": (True, script_choice, False),
    "random": (True, random_choice, True),
}


def _focus(planner: LessonPlanner, concept: int, prerequisites: list[list[int]]) -> None:
    known = [planner.mastery(str(p)) or 0.0 for p in prerequisites[concept]]
    prior, readiness = starting_point(known)
    planner.focus(str(concept), prior, readiness)


def teach(
    model: TutoringModel, learner: KTLearner, strategy: str, seed: int, turns: int = TURNS
) -> Outcome:
    info_gain, choose, by_belief = STRATEGIES[strategy]
    planner = LessonPlanner(model, seed=seed, info_gain=info_gain)
    rng = np.random.default_rng(seed)
    count, start = len(learner.known), sum(learner.known)
    concept, step, mastered_at = 0, 0, None
    _focus(planner, concept, learner.prerequisites)
    levels = FIRST_LOOK
    for turn in range(turns):
        planner.observe(levels)
        done = planner.mastered(str(concept)) if by_belief else step >= len(SCRIPT)
        if done or step >= MAX_TURNS_ON:
            concept, step = concept + 1, 0
            if concept == count:
                break
            _focus(planner, concept, learner.prerequisites)
        action = choose(planner, step, rng)
        learner.respond(concept, action)
        levels = learner.observe(concept, asked=action == "check")
        step += 1
        if mastered_at is None and all(learner.known):
            mastered_at = turn + 1
    unknown = count - start
    gain = (sum(learner.known) - start) / unknown if unknown else 1.0
    return Outcome(gain, mastered_at, min(concept + 1, count))


def lesson_prerequisites(curriculum) -> list[list[int]]:
    index = {cid: i for i, cid in enumerate(LESSON)}
    return [[index[p] for p in curriculum[cid].prerequisites if p in index] for cid in LESSON]


def run_teaching(model: TutoringModel, curriculum, learners: int = 200, seed: int = 11) -> dict:
    """Mean learning gain, turns to mastery (never = TURNS + 1) and concepts reached."""
    people = population(learners, lesson_prerequisites(curriculum), seed)
    outcomes: dict[str, list[Outcome]] = {name: [] for name in STRATEGIES}
    for index, learner in enumerate(tqdm(people, desc="simulated learners", unit="learner")):
        for name in STRATEGIES:
            outcomes[name].append(teach(model, copy.deepcopy(learner), name, seed=index))
    never = TURNS + 1
    return {
        "lesson": list(LESSON),
        "learners": learners,
        "turns": TURNS,
        "learning_gain": {
            n: round(float(np.mean([o.gain for o in v])), 3) for n, v in outcomes.items()
        },  # fmt: skip
        "turns_to_mastery": {
            n: round(float(np.mean([o.turns_to_mastery or never for o in v])), 2)
            for n, v in outcomes.items()
        },
        "mastered_fraction": {
            n: round(float(np.mean([o.turns_to_mastery is not None for o in v])), 3)
            for n, v in outcomes.items()
        },
        "concepts_reached": {
            n: round(float(np.mean([o.concepts_taught for o in v])), 2) for n, v in outcomes.items()
        },  # fmt: skip
    }
