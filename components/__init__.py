"""Custom Rasa graph components for the shop assistant.

Rasa imports this package when it loads a model that uses our components, so the
runtime fixes in `speedups` are active in every Rasa process serving this assistant.
"""

from components import speedups

speedups.apply()
