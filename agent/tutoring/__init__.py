"""The tutor's turn: curriculum (domain model), learner state, pedagogy and the grounded reply.

One `TeachingTurn` answers every learner turn, whether it arrived over WebRTC, `/ws` or MCP's
`ask`, so all three speak the same facts (docs/tutoring.md).
"""
