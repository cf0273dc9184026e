"""Imports point down the layers of docs/architecture.md, never up or sideways.

Read from the source with ast (nothing is imported), so a new arrow fails here with the
file that drew it, before it becomes a cycle that only shows at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "speech", "perception", "planner", "avatar", "tools")

# Each unit and the units it may import; agent/ is split into its subpackages.
ALLOWED: dict[str, set[str]] = {
    "speech": set(),
    "perception": set(),
    "planner": {"speech", "perception"},
    "avatar": {"speech", "planner"},
    "agent.config": {"speech"},
    "agent.backends": {"agent.config", "speech"},
    "agent.personalization": {"agent.backends", "speech"},
    "agent.retrieval": set(),
    "agent.controller": {"perception"},
    "agent.tutoring": {"agent.retrieval", "planner"},
    "agent.turn": {
        "agent.backends", "agent.config", "agent.controller", "agent.retrieval",
        "agent.tutoring", "perception", "planner", "speech",
    },
    "agent.session": {
        "agent.backends", "agent.config", "agent.turn", "agent.tutoring",
        "avatar", "perception", "planner", "speech",
    },
    "tools": {"agent.session"},
}  # fmt: skip
# The composition roots: they wire everything together and nothing imports them (the
# cluster runs the edge's app on each node, so it sits beside it).
ROOTS = {"agent.edge", "agent.cluster", "agent.cli"}


def unit_of(module: str) -> str:
    """'agent.turn.service' -> 'agent.turn'; 'planner.inference' -> 'planner'."""
    parts = module.split(".")
    if parts[0] != "agent" or len(parts) == 1:
        return parts[0]
    return f"agent.{parts[1]}"


def imported_modules(path: Path) -> list[str]:
    """Absolute project imports in one file (relative imports stay inside a unit)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name.split(".")[0] in PACKAGES]


def project_files(packages: tuple[str, ...] = PACKAGES) -> list[Path]:
    return [
        path
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    ]


def test_every_unit_is_declared() -> None:
    units = {unit_of(".".join(p.relative_to(ROOT).with_suffix("").parts)) for p in project_files()}
    units.discard("agent.__init__")
    assert units - set(ALLOWED) - ROOTS == set(), "declare the new unit's place in ALLOWED"


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for path in project_files():
        source = unit_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
        if source in ROOTS or source == "agent.__init__":
            continue
        for module in imported_modules(path):
            target = unit_of(module)
            if target != source and target not in ALLOWED[source]:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert wrong == []


def test_nothing_imports_a_composition_root() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in project_files()
        if unit_of(".".join(path.relative_to(ROOT).with_suffix("").parts)) not in ROOTS
        for module in imported_modules(path)
        if unit_of(module) in ROOTS
    ]
    assert wrong == []


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    upward = tmp_path / "upward.py"
    upward.write_text("from agent.session.manager import SessionManager\nimport numpy\n")
    assert imported_modules(upward) == ["agent.session.manager"]
    assert "agent.session" not in ALLOWED[unit_of("agent.turn.service")]
