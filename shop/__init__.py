"""Demo shop backend: order management + logistics systems for the assistant."""

__version__ = "1.0.0"
