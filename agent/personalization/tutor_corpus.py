"""A small tutor-style corpus the project writes itself, for fine-tuning and style checks.

The style being learned: open with "Good question!", explain in one or two plain
sentences, close with a check question that starts "Quick check:". Train and held-out
topics do not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

OPENING = "Good question!"
CHECK = "Quick check:"


@dataclass(frozen=True)
class Topic:
    name: str
    fact: str
    check: str


TOPICS = (
    Topic(
        "photosynthesis",
        "plants use sunlight, water and carbon dioxide to make sugar and release oxygen",
        "what gas do plants give off?",
    ),
    Topic(
        "gravity",
        "every mass pulls on every other mass, more strongly when bigger or closer",
        "why does a dropped ball fall down?",
    ),
    Topic(
        "evaporation",
        "heat gives water molecules enough energy to escape into the air as vapour",
        "where does a puddle go on a sunny day?",
    ),
    Topic(
        "friction",
        "surfaces rubbing together resist sliding, turning motion into heat",
        "why do your hands warm up when you rub them?",
    ),
    Topic(
        "cells",
        "cells are the smallest living units, and every living thing is made of them",
        "what is a living thing made of?",
    ),
    Topic(
        "DNA",
        "DNA is a long molecule that stores the instructions for building a living thing",
        "what does DNA store?",
    ),
    Topic(
        "magnetism",
        "magnets have two poles, and opposite poles attract while like poles repel",
        "what happens when two north poles meet?",
    ),
    Topic(
        "the water cycle",
        "water evaporates, condenses into clouds and falls again as rain or snow",
        "what makes clouds form?",
    ),
    Topic(
        "sound",
        "sound is a vibration that travels as a wave through air, water or solids",
        "can sound travel through water?",
    ),
    Topic(
        "food chains",
        "energy passes from plants to the animals that eat them and then to predators",
        "where does a lion's energy first come from?",
    ),
    Topic(
        "electric circuits",
        "current flows only around a closed loop from one side of a battery to the other",
        "why does a broken wire stop a lamp?",
    ),
    Topic(
        "density",
        "density is how much mass is packed into a volume; less dense things float",
        "why does oil float on water?",
    ),
    Topic(
        "the seasons",
        "Earth's tilt makes each half face the sun more directly for part of the year",
        "why is summer warmer than winter?",
    ),
    Topic(
        "respiration",
        "cells break down sugar with oxygen to release the energy they need",
        "what do cells need oxygen for?",
    ),
    Topic(
        "light refraction",
        "light bends when it passes from one material into another at an angle",
        "why does a straw look bent in a glass of water?",
    ),
    Topic(
        "inertia",
        "objects keep doing what they are doing unless a force changes their motion",
        "why do you lurch forward when a bus stops?",
    ),
    Topic(
        "erosion",
        "wind, water and ice slowly wear rock away and carry the pieces elsewhere",
        "what shapes a river valley?",
    ),
    Topic(
        "pollination",
        "bees and wind carry pollen between flowers so that seeds can form",
        "why are bees important to fruit?",
    ),
    Topic(
        "states of matter",
        "heating or cooling turns solids, liquids and gases into each other",
        "what happens to ice when it warms?",
    ),
    Topic(
        "the heart",
        "the heart is a muscle that pumps blood around the body through blood vessels",
        "what does the heart move around the body?",
    ),
    Topic(
        "volcanoes",
        "melted rock from deep underground rises and erupts through weak spots in Earth's crust",
        "what comes out of a volcano?",
    ),
    Topic(
        "energy transfer",
        "energy is never lost, only moved from one store to another, often ending as heat",
        "where does a car's braking energy go?",
    ),
    Topic(
        "adaptation",
        "living things with traits that suit their habitat survive and pass those traits on",
        "why do polar bears have thick fur?",
    ),
    Topic(
        "the moon's phases",
        "we see different amounts of the moon's sunlit half as it orbits Earth",
        "why does the moon seem to change shape?",
    ),
)
HELD_OUT = {
    "respiration", "light refraction", "inertia", "erosion", "pollination", "states of matter",
    "the heart", "volcanoes", "energy transfer", "adaptation", "the moon's phases",
}  # fmt: skip
QUESTIONS = ("What is {t}?", "Can you explain {t}?", "How does {t} work?", "I don't get {t}.")


def answer(topic: Topic) -> str:
    return f"{OPENING} In short, {topic.fact}. {CHECK} {topic.check[0].upper()}{topic.check[1:]}"


def examples(held_out: bool) -> list[tuple[str, str]]:
    """(question, answer) pairs for the train or held-out topics."""
    chosen = [t for t in TOPICS if (t.name in HELD_OUT) == held_out]
    return [(q.format(t=t.name), answer(t)) for t in chosen for q in QUESTIONS]


def follows_style(text: str) -> bool:
    """The style check: the opening and a check question."""
    return text.strip().startswith(OPENING) and CHECK in text
