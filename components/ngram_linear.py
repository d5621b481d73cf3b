"""Fast inference for a linear model over TF-IDF character n-grams (sklearn-trained).

sklearn's input validation alone costs more than the whole prediction for one short
message, so inference does the arithmetic of `TfidfVectorizer(sublinear_tf=True,
norm="l2")` followed by `coef_ @ x` itself, on the few columns the text hits.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

import numpy as np


class NgramLinearScorer:
    """A fitted sklearn linear classifier whose first feature columns are `vectorizer`'s
    n-grams: its labels, intercept, the n-gram part `W x` of its scores, and the weights of
    any further columns (`extra_coef`, e.g. hand-made features)."""

    def __init__(self, vectorizer: Any, classifier: Any) -> None:
        self._analyzer = vectorizer.build_analyzer()
        self._vocabulary: Dict[Text, int] = vectorizer.vocabulary_
        self._idf: np.ndarray = vectorizer.idf_
        n_features = len(self._vocabulary)
        coef = classifier.coef_
        self._coef: np.ndarray = np.ascontiguousarray(coef[:, :n_features].T)
        self.extra_coef: np.ndarray = np.ascontiguousarray(coef[:, n_features:].T)
        self.intercept: np.ndarray = classifier.intercept_
        self.labels: List[Text] = [str(label) for label in classifier.classes_]
        # char_wb pads words with spaces: " " is a 1-gram of every text.
        self.blank_columns = {column for gram, column in self._vocabulary.items()
                              if not gram.strip()}

    def columns(self, text: Text) -> Dict[int, int]:
        """Vocabulary column -> count of the text's known n-grams."""
        counts: Dict[int, int] = {}
        for gram in self._analyzer(text):
            column = self._vocabulary.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        return counts

    def scores(self, counts: Dict[int, int]) -> np.ndarray:
        if not counts:
            return np.zeros(self._coef.shape[1])
        columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64,
                                           count=len(counts)))) * self._idf[columns]
        values /= np.linalg.norm(values)
        return values @ self._coef[columns]


def softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()

