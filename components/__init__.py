"""Custom Rasa graph components for the shop assistant."""
