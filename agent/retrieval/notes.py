"""Markdown notes cut into passages: one passage per `##` section, titled by its note.

A section is a size an answer can cite and a small model can read in its prompt; the note's
`#` title and the section heading travel with it so the citation says where it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

MAX_NOTE_BYTES = 1_000_000


class NotesError(ValueError):
    """The notes folder is missing, empty or holds a note that cannot be read."""


@dataclass(frozen=True)
class Passage:
    """One section of one note."""

    source: str  # file name, e.g. "photosynthesis.md"
    title: str  # the note's `#` title
    section: str  # the `##` heading ("" for text before the first heading)
    text: str

    @property
    def citation(self) -> str:
        return f"{self.title} › {self.section}" if self.section else self.title

    def searchable(self) -> str:
        return f"{self.title}. {self.section}. {self.text}"


def default_notes_dir() -> Path:
    """The knowledge base shipped with Eco-1 (a few biology and physics topics)."""
    return Path(str(files("agent.retrieval").joinpath("kb")))


def split_note(name: str, markdown: str) -> list[Passage]:
    """Passages of one note; the title defaults to the file name."""
    title = Path(name).stem.replace("_", " ").capitalize()
    section, lines, passages = "", [], []

    def flush() -> None:
        text = re.sub(r"\s+", " ", " ".join(lines)).strip()
        if text:
            passages.append(Passage(name, title, section, text))
        lines.clear()

    for line in markdown.splitlines():
        if line.startswith("## "):
            flush()
            section = line[3:].strip()
        elif line.startswith("# "):
            flush()
            title = line[2:].strip()
        else:
            lines.append(line)
    flush()
    return passages


def load_notes(folder: Path) -> list[Passage]:
    """Every passage of every *.md in folder (sorted, so indexes are reproducible)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotesError(f"notes folder {folder} does not exist")
    passages: list[Passage] = []
    for path in sorted(folder.glob("*.md")):
        if path.stat().st_size > MAX_NOTE_BYTES:
            raise NotesError(f"note {path} is larger than {MAX_NOTE_BYTES} bytes")
        try:
            passages += split_note(path.name, path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise NotesError(f"note {path} is not UTF-8 text: {exc}") from exc
    if not passages:
        raise NotesError(f"notes folder {folder} holds no markdown notes")
    return passages
