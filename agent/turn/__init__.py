"""The tutor's turn: the Pipecat LLM stage and its collaborators (prompt, speculation,
read-ahead, critique), and the per-host TurnCompute that decides what each turn spends."""
