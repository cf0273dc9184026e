"""The domain model: concepts with prerequisites and facets written to be spoken.

A curriculum is a folder of TOML files, one per subject (docs/tutoring.md says how to add a
concept). Every fact the tutor states about a concept comes from these facets, so they are
validated at start-up: a malformed file stops the service with the file and field named,
instead of a tutor that later says nothing, or something wrong.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SUBJECTS = ("biology", "physics", "chemistry", "earth and space", "arithmetic")
FACETS = ("definition", "explanation", "example", "misconception", "summary")
ID_PATTERN = r"^[a-z][a-z0-9_]{1,60}$"
MAX_FILE_BYTES = 1_000_000


class CurriculumError(ValueError):
    """A curriculum file that cannot be used; the message names the file and the field."""


def _sentences(text: str) -> str:
    text = " ".join(text.split())
    if not text.endswith((".", "!", "?")):
        raise ValueError("must end with a full stop, question mark or exclamation mark")
    return text


class CheckQuestion(BaseModel):
    """A question that checks understanding, with the answers a teacher would accept."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    question: str = Field(min_length=8, max_length=300)
    accepted: tuple[str, ...] = Field(min_length=1)

    @field_validator("question")
    @classmethod
    def _asks(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value.endswith(("?", ".")):
            raise ValueError("a check question must end with '?' (or '.' for 'Name one ...')")
        return value


class Concept(BaseModel):
    """One idea a learner can ask about, with every facet the tutor may speak."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=2, max_length=80)
    aliases: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    definition: str = Field(min_length=20, max_length=400)
    explanation: str = Field(min_length=20, max_length=700)
    examples: tuple[str, ...] = Field(min_length=1)
    misconception: str = Field(min_length=10, max_length=300)
    correction: str = Field(min_length=10, max_length=500)
    summary: str = Field(min_length=10, max_length=300)
    simpler: str | None = Field(default=None, max_length=400)
    checks: tuple[CheckQuestion, ...] = Field(min_length=2)
    subject: str = ""  # filled from the file

    _spoken = field_validator(
        "definition", "explanation", "misconception", "correction", "summary"
    )(_sentences)

    @field_validator("examples")
    @classmethod
    def _examples_spoken(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_sentences(example) for example in value)

    @property
    def names(self) -> tuple[str, ...]:
        """The name and every alias, as a learner might say them."""
        return (self.name, *self.aliases)

    @property
    def facts(self) -> tuple[str, ...]:
        """The facets a model-written reply may state (and is checked against)."""
        return (self.definition, self.explanation, *self.examples, self.correction)


class CurriculumFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str
    concept: list[Concept] = Field(min_length=1)

    @field_validator("subject")
    @classmethod
    def _known_subject(cls, value: str) -> str:
        if value not in SUBJECTS:
            raise ValueError(f"subject must be one of {', '.join(SUBJECTS)}")
        return value


@dataclass(frozen=True)
class Curriculum:
    """Every concept by id, in file order; prerequisites all name known concepts."""

    concepts: dict[str, Concept]

    def __len__(self) -> int:
        return len(self.concepts)

    def __getitem__(self, concept_id: str) -> Concept:
        return self.concepts[concept_id]

    def ordered(self) -> list[Concept]:
        """Concepts with every prerequisite before the concepts that need it."""
        done: dict[str, Concept] = {}

        def visit(concept: Concept) -> None:
            if concept.id in done:
                return
            for needed in concept.prerequisites:
                visit(self.concepts[needed])
            done[concept.id] = concept

        for concept in self.concepts.values():
            visit(concept)
        return list(done.values())


def default_curriculum_dir() -> Path:
    """The school-science and arithmetic syllabus shipped with Eco-1."""
    return Path(str(files("agent.tutoring").joinpath("content")))


def _field_path(exc: ValidationError, document: dict) -> str:
    """The first problem as 'concept[3] (photosynthesis).definition: why'."""
    error = exc.errors()[0]
    where, location = [], error["loc"]
    for index, part in enumerate(location):
        if isinstance(part, int) and index > 0 and location[index - 1] == "concept":
            concepts = document.get("concept") or []
            name = concepts[part].get("id", "?") if part < len(concepts) else "?"
            where.append(f"[{part}] ({name})")
        elif isinstance(part, int):
            where.append(f"[{part}]")
        else:
            where.append(f".{part}" if where else str(part))
    return f"{''.join(where) or 'file'}: {error['msg']}"


def load_file(path: Path) -> CurriculumFile:
    """One subject file, validated; CurriculumError names the file and the field."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CurriculumError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CurriculumError(f"{path}: not valid TOML: {exc}") from exc
    try:
        parsed = CurriculumFile.model_validate(document)
    except ValidationError as exc:
        raise CurriculumError(f"{path}: {_field_path(exc, document)}") from exc
    parsed.concept = [c.model_copy(update={"subject": parsed.subject}) for c in parsed.concept]
    return parsed


def load_curriculum(folder: Path | None = None) -> Curriculum:
    """Every *.toml in the folder (sorted); ids unique, prerequisites known and acyclic."""
    folder = Path(folder or default_curriculum_dir())
    if not folder.is_dir():
        raise CurriculumError(f"curriculum folder {folder} does not exist")
    concepts: dict[str, Concept] = {}
    origin: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        for concept in load_file(path).concept:
            if concept.id in concepts:
                raise CurriculumError(
                    f"{path}: concept id {concept.id!r} is also in {origin[concept.id].name}"
                )
            concepts[concept.id], origin[concept.id] = concept, path
    if not concepts:
        raise CurriculumError(f"curriculum folder {folder} has no *.toml concepts")
    for concept in concepts.values():
        for needed in concept.prerequisites:
            if needed not in concepts:
                raise CurriculumError(
                    f"{origin[concept.id]}: concept {concept.id!r}.prerequisites names "
                    f"unknown concept {needed!r}"
                )
    _check_acyclic(concepts, origin)
    return Curriculum(concepts)


def _check_acyclic(concepts: dict[str, Concept], origin: dict[str, Path]) -> None:
    state: dict[str, str] = {}  # "visiting" or "done"
    for start in concepts:
        stack = [(start, iter(concepts[start].prerequisites))]
        state[start] = state.get(start, "visiting")
        if state[start] == "done":
            continue
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = "done"
                stack.pop()
            elif state.get(child) == "visiting":
                raise CurriculumError(
                    f"{origin[child]}: prerequisites of {child!r} lead back to itself"
                )
            elif child not in state:
                state[child] = "visiting"
                stack.append((child, iter(concepts[child].prerequisites)))
