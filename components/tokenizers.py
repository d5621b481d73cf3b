"""Jieba tokenizer that is safe for mixed Chinese/English customer text."""

from __future__ import annotations

import glob
import hashlib
from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True
)
class ShopJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer that drops whitespace tokens and retrains on dictionary edits.

    Stock jieba emits " " as a token for text such as "sf 快递", which gives the
    entity extractor empty features and misaligned entities; customers type such mixes all the time.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Only the start of a huge message is tokenized: attention cost grows with the
        # square of the token count, and a pasted essay must not stall the server.
        # The tracker still keeps the full text.
        return {**JiebaTokenizer.get_default_config(), "max_chars": 300}

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        # Rasa fingerprints the config, not the dictionary files, so an edited
        # dictionary would otherwise silently reuse a stale cached tokenizer.
        path = config.get("dictionary_path")
        if not path:
            return None
        digest = hashlib.sha256()
        for file_name in sorted(glob.glob(f"{path}/*")):
            with open(file_name, "rb") as file:
                digest.update(file.read())
        return digest.hexdigest()

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        import jieba

        text = (message.get(attribute) or "")[: self._config["max_chars"]]
        tokens = [
            Token(word, start)
            for word, start, _ in jieba.tokenize(text)
            if word.strip()
        ]
        if not tokens:
            # Rasa expects at least one token; an all-whitespace text keeps one.
            tokens = [Token(text, 0)] if text else []
        return self._apply_token_pattern(tokens)
