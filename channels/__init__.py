"""Customer channels (Rasa input channels) and what they share: the signed customer identity."""
