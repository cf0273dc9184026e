"""`eco1 eval` reads its benchmarks from one table: every entry must run as declared."""

from __future__ import annotations

import importlib
import inspect

import pytest

from agent.cli import build_parser
from agent.config import load_settings
from evals.registry import BENCHMARKS


@pytest.mark.parametrize("benchmark", BENCHMARKS, ids=lambda b: b.name)
def test_each_runner_takes_what_the_registry_passes(benchmark):
    module, function = benchmark.runner.split(":")
    runner = getattr(importlib.import_module(module), function)
    keywords = {"out_dir": None, **{option.keyword: None for option in benchmark.options}}
    if benchmark.settings:
        keywords["settings"] = None
    if benchmark.from_settings is not None:
        keywords |= benchmark.from_settings(load_settings())
    inspect.signature(runner).bind(**keywords)  # TypeError if a keyword is not taken


def test_the_command_line_offers_every_benchmark_with_its_options():
    parser = build_parser()
    names = {benchmark.name for benchmark in BENCHMARKS}
    assert len(names) == len(BENCHMARKS)
    for benchmark in BENCHMARKS:
        args = parser.parse_args(["eval", benchmark.name])
        assert args.bench == benchmark.name
        assert all(hasattr(args, option.keyword) for option in benchmark.options)
    quick = parser.parse_args(["eval", "tutoring", "--no-spoken", "--limit", "5"])
    assert quick.spoken is False and quick.limit == 5
