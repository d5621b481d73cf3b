"""When and where the bot hands a conversation to a human (rules, mood trend, office hours).

Shared by the escalation policy (in the Rasa server) and the handoff actions (in the
action server), so both read the same trainer-edited file the same way.
"""

from escalation.mood import turning_point
from escalation.rules import EscalationRules, Rule, Turn, load_rules

__all__ = ["EscalationRules", "Rule", "Turn", "load_rules", "turning_point"]
