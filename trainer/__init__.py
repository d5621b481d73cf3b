"""The trainer loop: learn from live conversations (conversation-driven development).

Reads the messages the bot handled badly from Rasa's SQL tracker store, groups and masks
them, appends the trainer's labels to data/nlu/<topic>.yml (validated with
`rasa data validate`, reverted when invalid) and exports conversations as test stories.
See docs/trainer.md.
"""
