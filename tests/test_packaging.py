"""The installed package carries every file the code reads: `pip install .` (the container
image) copies only Python modules and what pyproject's package-data names, so a data file
left out there works from the checkout and fails in the image ("No such file
planner/tutoring_model.toml" was how the first image's sessions ended)."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {"__pycache__", "results"}  # evals/results: measurements, not read by code


def data_files(package: str) -> list[Path]:
    return [
        path for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc")
        and not SKIP_DIRS & set(path.relative_to(ROOT).parts)
    ]  # fmt: skip


def test_every_data_file_in_a_package_is_named_in_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = [name.rstrip("*") for name in config["packages"]["find"]["include"]]
    patterns = config["package-data"]
    left_out = []
    for package in packages:
        for path in data_files(package):
            relative = path.relative_to(ROOT)
            named = any(
                fnmatch(str(relative.relative_to(Path(*owner.split(".")))), glob)
                for owner, globs in patterns.items()
                if relative.is_relative_to(Path(*owner.split(".")))
                for glob in globs
            )
            if not named:
                left_out.append(str(relative))
    assert not left_out, f"not in [tool.setuptools.package-data]: {left_out}"
