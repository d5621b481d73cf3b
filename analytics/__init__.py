"""Data radar: conversation facts from Rasa's event broker and the desk's event feed,
PRODUCT.md metrics, topics, spike alerts, a dashboard API and a weekly report.

Entry points: `python -m analytics consume | report | detect | retention | simulate`.
"""
