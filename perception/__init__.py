"""Perception: z-JEPA encoders and learner observations (lands with its own issue)."""
