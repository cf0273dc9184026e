"""The tutoring POMDP: A, B, C, D, E built from the documented planner/tutoring_model.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from planner.inference import Gate

DEFAULT_MODEL = Path(__file__).with_name("tutoring_model.toml")

FACTORS = {
    "knowledge": ("unlearned", "learned"),
    "engagement": ("engaged", "drifting"),
    "confusion": ("clear", "confused"),
    "prompt": ("told", "asked"),
}
MODALITIES = {
    "answer": ("correct", "partly", "wrong", "none", "unasked"),
    "question": ("no", "yes"),
    "silence": ("short", "medium", "long"),
    "face": ("present", "absent"),
}
KNOWLEDGE = 0  # factor index of the concept's knowledge
ENGAGEMENT = 1
LEARNED = 1
SHAPE = tuple(len(levels) for levels in FACTORS.values())


def named_beliefs(qs: list[np.ndarray]) -> dict[str, dict[str, float]]:
    """Factor marginals as {factor: {level: probability}} for clients and logs."""
    return {
        factor: {level: round(float(p), 4) for level, p in zip(levels, q, strict=True)}
        for (factor, levels), q in zip(FACTORS.items(), qs, strict=True)
    }


@dataclass
class TutoringModel:
    """Arrays in pymdp's layout: A[m][o, s_knowledge, s_engagement, s_confusion, s_prompt],
    B[f][s_next, s_prev, action], C[m][o] (log preferences), D[f][s], E[policy or action];
    state_prefs[f][s]: log preferences over hidden states (zeros: none for that factor)."""

    actions: list[str]
    gestures: dict[str, str]
    A: list[np.ndarray]
    B: list[np.ndarray]
    C: list[np.ndarray]
    D: list[np.ndarray]
    habits: np.ndarray
    learn: np.ndarray  # per action: P(unlearned → learned) in one turn, before prerequisites
    state_prefs: list[np.ndarray] = field(default_factory=lambda: [np.zeros(n) for n in SHAPE])
    gate: Gate | None = None  # knowledge is learned while engaged (dynamics.drifting_learns)
    horizon: int = 2
    keep_first: int = 4
    gamma: float = 4.0
    mastered: float = 0.95
    salient: int | None = KNOWLEDGE  # the factor whose information counts (None: all)
    factor_names: list[str] = field(default_factory=lambda: list(FACTORS))
    modality_names: list[str] = field(default_factory=lambda: list(MODALITIES))

    @property
    def num_states(self) -> list[int]:
        return list(SHAPE)

    def observation(self, **levels: str) -> list[int]:
        """Observation indices from names, e.g. observation(answer="correct", ...)."""
        return [MODALITIES[name].index(levels[name]) for name in MODALITIES]


def knowledge_transition(learn: np.ndarray, forget: float) -> np.ndarray:
    """B for knowledge: [s_next, s_prev, action] from each action's chance to learn."""
    b = np.zeros((2, 2, len(learn)))
    b[0, 0], b[1, 0] = 1 - learn, learn
    b[0, 1], b[1, 1] = forget, 1 - forget
    return b


def _answer_likelihood(cfg: dict) -> np.ndarray:
    a = np.zeros((5, *SHAPE))
    a[4, ..., 0] = 1.0  # nothing was asked: "unasked", whatever the learner knows
    for k in range(2):
        for e, no_answer in enumerate((cfg["engaged_no_answer"], cfg["drifting_no_answer"])):
            for c in range(2):
                correct = cfg["p_correct"][k] * (cfg["confused_penalty"] if c else 1.0)
                partly = cfg["p_partly"][k]
                answered = np.array([correct, partly, 1 - correct - partly]) * (1 - no_answer)
                a[:, k, e, c, 1] = [*answered, no_answer, 0.0]
    return a


def _likelihoods(cfg: dict) -> list[np.ndarray]:
    question = np.zeros((2, *SHAPE))
    silence = np.zeros((3, *SHAPE))
    face = np.zeros((2, *SHAPE))
    for e, key in enumerate(("silence_engaged", "silence_drifting")):
        for c in range(2):
            p_yes = cfg["p_question_confused"] if c else cfg["p_question_clear"]
            question[:, :, e, c, :] = np.array([1 - p_yes, p_yes])[:, None, None]
            quiet = np.array(cfg[key], dtype=float)
            if c:
                shift = min(cfg["silence_confused_shift"], quiet[0])
                quiet = quiet + np.array([-shift, shift, 0.0])
            silence[:, :, e, c, :] = quiet[:, None, None]
            p_face = cfg["p_face_engaged"] if e == 0 else cfg["p_face_drifting"]
            face[:, :, e, c, :] = np.array([p_face, 1 - p_face])[:, None, None]
    return [_answer_likelihood(cfg), question, silence, face]


def _transitions(actions: list[str], cfg: dict, dynamics: dict) -> list[np.ndarray]:
    learn = np.array([cfg[action]["learn"] for action in actions])
    engagement = np.zeros((2, 2, len(actions)))
    confusion = np.zeros((2, 2, len(actions)))
    prompt = np.zeros((2, 2, len(actions)))
    drift = dynamics["drift"]
    for u, action in enumerate(actions):
        effect = cfg[action]
        stay_engaged = 1 - drift * (1 - effect["engage"])
        engagement[:, :, u] = [
            [stay_engaged, effect["engage"]],
            [1 - stay_engaged, 1 - effect["engage"]],
        ]
        confusion[:, :, u] = [
            [1 - effect["confuse"], effect["clarify"]],
            [effect["confuse"], 1 - effect["clarify"]],
        ]
        prompt[int(action in dynamics["asks"]), :, u] = 1.0
    knowledge = knowledge_transition(learn, dynamics["forget"])
    return [knowledge, engagement, confusion, prompt]


def load_tutoring_model(path: Path = DEFAULT_MODEL) -> TutoringModel:
    """Build and check the arrays; a column that is not a distribution is an error."""
    cfg = tomllib.loads(Path(path).read_text())
    actions = list(cfg["actions"])
    A = _likelihoods(cfg["likelihood"])
    B = _transitions(actions, cfg["transitions"], cfg["dynamics"])
    for name, arrays in (("A", A), ("B", B)):
        for index, array in enumerate(arrays):
            if (array < -1e-12).any() or not np.allclose(array.sum(axis=0), 1.0):
                raise ValueError(
                    f"{path}: {name}[{index}] columns must be probability distributions"
                )
    prefs = cfg["preferences"]
    C = [np.array(prefs[name], dtype=float) for name in MODALITIES]
    wanted = cfg.get("state_preferences", {})
    unknown = set(wanted) - set(FACTORS)
    if unknown:
        raise ValueError(f"{path}: state_preferences for unknown factors {sorted(unknown)}")
    state_prefs = [np.array(wanted.get(name, [0.0] * len(levels)), dtype=float)
                   for name, levels in FACTORS.items()]  # fmt: skip
    if any(len(c) != n for c, n in zip(state_prefs, SHAPE, strict=True)):
        raise ValueError(f"{path}: state_preferences needs one value per level of its factor")
    D = [np.array(cfg["prior"][name], dtype=float) for name in FACTORS]
    D = [d / d.sum() for d in D]
    habits = np.array(cfg["habits"], dtype=float)
    if len(habits) != len(actions):
        raise ValueError(f"{path}: habits needs one value per action ({len(actions)})")
    planning = cfg.get("planning", {})
    return TutoringModel(
        actions=actions,
        gestures=dict(cfg["gestures"]),
        A=A,
        B=B,
        C=C,
        D=D,
        habits=habits / habits.sum(),
        learn=B[0][1, 0].copy(),
        state_prefs=state_prefs,
        gate=Gate(KNOWLEDGE, ENGAGEMENT, float(cfg["dynamics"].get("drifting_learns", 1.0))),
        horizon=int(planning.get("horizon", 2)),
        keep_first=int(planning.get("keep_first", 4)),
        gamma=float(planning.get("gamma", 4.0)),
        mastered=float(planning.get("mastered", 0.95)),
        salient=_salient(planning.get("epistemic", "knowledge"), path),
    )


def _salient(name: str, path: Path) -> int | None:
    """planning.epistemic: a factor's name, or "all" for pymdp's information about every one."""
    if name == "all":
        return None
    if name not in FACTORS:
        raise ValueError(f"{path}: planning.epistemic must be 'all' or one of {list(FACTORS)}")
    return list(FACTORS).index(name)


@cache
def default_model() -> TutoringModel:
    """The shipped model, loaded once per process (planners copy what they change)."""
    return load_tutoring_model()
