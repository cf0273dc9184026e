"""Per-learner model personalization with 1-bit deltas (BitDelta)."""
