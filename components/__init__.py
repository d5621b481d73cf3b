"""Custom Rasa graph components for the shop assistant.

Rasa imports this package when it loads a model that uses our components, so the
fixes in `rasa_fixes` are active in every Rasa process serving this assistant.
"""

from components import rasa_fixes

rasa_fixes.apply()
