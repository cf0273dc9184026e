"""Benchmarks: each writes JSON and a PNG under evals/results/."""
