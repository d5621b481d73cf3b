"""Handoff queue service: the bot escalates conversations here, human agents take them over."""

__version__ = "1.0.0"
