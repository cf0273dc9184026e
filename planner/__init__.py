"""Planner: Expected-Free-Energy tutoring decisions (lands with its own issue)."""
