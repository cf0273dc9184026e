"""Every word the service itself writes into a model's prompt, in one place to review.

The planner chooses actions by name; what each asks of a model-written reply is here.
"""

from __future__ import annotations

TUTOR_SYSTEM_PROMPT = (
    "You are Eco, a friendly science tutor speaking out loud to a learner. "
    "Answer in one to three short sentences of plain spoken English, no lists, no markdown, "
    "no emojis. Explain simply, then check understanding or invite a follow-up question."
)

# Retrieved notes, appended to the system prompt, numbered [1], [2], ...
NOTES_HEADER = "Notes you may use (cite them as [n] only if asked where facts come from):"

# Facts an MCP tool returned for this turn (tools/mcp_client.TurnToolbox).
TOOL_FACTS_HEADER = "Facts you may use (from tools): "

# The planner's action for this reply, as a system message right before the question.
REPLY_INSTRUCTION = "For this reply: {hint}"
ACTION_HINTS = {
    "explain": "Explain the idea simply in one or two sentences.",
    "example": "Give one concrete, everyday example.",
    "check": "Ask one short question that checks understanding.",
    "hint": "Give a small hint toward the answer without giving it away.",
    "summarise": "Summarise the key point in one sentence.",
    "encourage": "Encourage the learner warmly and briefly, then invite them to continue.",
    "pause": "Acknowledge briefly and let the learner keep talking.",
}

# The critique round (agent/turn/critique.py): a critic on the draft, then a revision.
CRITIC_PROMPT = (
    "You check a science tutor's draft answer. Using the notes, say in one sentence what is "
    "wrong or missing in the draft. If nothing is, say: OK."
)
REVISE_PROMPT = (
    "A reviewer commented on your answer: {critique}\n"
    "Give your improved answer to my question, in one to three short spoken sentences."
)
