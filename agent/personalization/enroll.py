"""Make a learner's delta: fine-tune SmolLM2 on their material, compress, distill, store.

The material is the project's tutor-style corpus (agent/personalization/tutor_corpus.py)
until learners bring their own; `eco1 personalize LEARNER` runs this.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch

from agent.personalization.personalize import (
    PersonalizedModel,
    distill_scales,
    linear_names,
    make_deltas,
)
from agent.personalization.smollm import encode_pairs, fine_tune, load_smollm2, personal_layer
from agent.personalization.store import USER_ID, DeltaStore, DeltaStoreError
from agent.personalization.tutor_corpus import examples


@dataclass
class Enrolment:
    learner: str
    bytes_stored: int
    fine_tune_loss: float
    distill_loss: float
    seconds: float


def enroll_learner(
    store: DeltaStore, learner: str, *, steps: int = 60, distill_steps: int = 40, seed: int = 0
) -> Enrolment:
    """Fine-tune, compress to sign bits + scales, distill the scales, save under learner."""
    if not USER_ID.match(learner):  # before minutes of training, not after
        raise DeltaStoreError(f"malformed learner id {learner!r}")
    started = time.perf_counter()
    torch.manual_seed(seed)
    base, tokenizer = load_smollm2()
    fine = copy.deepcopy(base)
    curve = fine_tune(fine, tokenizer, steps)
    fine.eval()
    names = linear_names(base, personal_layer)
    deltas = make_deltas(base, fine, names)  # before wrapping base's layers
    personal = PersonalizedModel(base, names)
    personal.activate(learner, deltas)
    ids, _ = encode_pairs(tokenizer, examples(held_out=False))
    batches = [ids[i : i + 8] for i in range(0, len(ids), 8)]
    distilled = distill_scales(
        personal, lambda x: fine(input_ids=x).logits, lambda m, x: m(input_ids=x).logits,
        batches, steps=distill_steps,
    ) if distill_steps else [float("nan")]  # fmt: skip
    stored = store.save(learner, personal.current_deltas(), {"fine_tune_steps": steps})
    return Enrolment(learner, stored, curve[-1], distilled[-1], time.perf_counter() - started)
