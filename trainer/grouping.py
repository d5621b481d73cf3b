"""Similar messages together: jieba words (with the project's dictionary) and character
bigrams, TF-IDF, cosine distance, average-linkage clustering (all brought by Rasa)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from privacy import mask_personal
from trainer.source import Candidate

# Two messages whose TF-IDF vectors are closer than this (cosine distance) on average
# belong to one group. Chosen on the real-style set in tests/trainer/test_grouping.py.
DISTANCE_THRESHOLD = 0.9
PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)
# Particles that carry no topic; everything else counts.
STOP_WORDS = set("的了吗呢啊吧呀哦哈嘛么是我你他她它们这那个在有就都也和与或还亲能要") | {
    "什么", "怎么", "一下", "可以", "这个", "那个", "你们", "我们", "请问", "一个", "没有", "就是"}


@lru_cache(maxsize=4)
def _jieba(dictionary_dir: Optional[str]):
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    if dictionary_dir and Path(dictionary_dir).is_dir():
        for path in sorted(Path(dictionary_dir).iterdir()):
            if path.is_file():
                tokenizer.load_userdict(str(path))
    return tokenizer


def features(text: str, dictionary_dir: Optional[str]) -> List[str]:
    """Words and character bigrams: words carry the topic, bigrams survive typos."""
    text = re.sub(r"\d+", "0", text.lower())
    # Search mode also yields the parts of long words (礼品包装 -> 礼品, 包装, 礼品包装).
    words = [word for word in _jieba(dictionary_dir).lcut_for_search(text)
             if not PUNCTUATION.fullmatch(word) and word not in STOP_WORDS]
    chars = PUNCTUATION.sub("", text)
    bigrams = [f"#{chars[i:i + 2]}" for i in range(len(chars) - 1)]
    return words + bigrams


@dataclass
class Group:
    items: List[Candidate]
    keywords: List[str]
    hints: List[Tuple[str, float]]
    reasons: Dict[str, int]
    representative: Candidate
    conversations: List[str] = field(default_factory=list)


def cluster_labels(texts: Sequence[str], dictionary_dir: Optional[str],
                   threshold: float = DISTANCE_THRESHOLD) -> Tuple[List[int], Any, Any]:
    """Cluster labels (-1: no words), the TF-IDF matrix and its fitted vectorizer."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Messages without words (only punctuation or emoji) form one group of their own.
    tokens = [features(text, dictionary_dir) for text in texts]
    empty = [not token for token in tokens]
    vectorizer = TfidfVectorizer(analyzer=lambda token: token, sublinear_tf=True)
    matrix = vectorizer.fit_transform([token or ["<empty>"] for token in tokens])
    filled = [i for i, is_empty in enumerate(empty) if not is_empty]
    labels = [-1] * len(texts)
    if len(filled) == 1:
        labels[filled[0]] = 0
    elif filled:
        clustering = AgglomerativeClustering(n_clusters=None, affinity="cosine",
                                             linkage="average", distance_threshold=threshold)
        for index, label in zip(filled, clustering.fit_predict(matrix[filled].toarray()),
                                strict=True):
            labels[index] = int(label)
    return labels, matrix, vectorizer


def group(candidates: Sequence[Candidate], dictionary_dir: Optional[str],
          threshold: float = DISTANCE_THRESHOLD) -> List[Group]:
    if not candidates:
        return []
    # Masked first: the keywords are shown, and a street name is no topic anyway.
    labels, matrix, vectorizer = cluster_labels([mask_personal(c.text) for c in candidates],
                                                dictionary_dir, threshold)
    terms = np.array(vectorizer.get_feature_names_out())
    members: Dict[int, List[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        members[label].append(index)
    groups = []
    for indexes in members.values():
        items = [candidates[i] for i in indexes]
        centroid = np.asarray(matrix[indexes].mean(axis=0)).ravel()
        keywords = [term for term in terms[np.argsort(-centroid)][:40]
                    if not term.startswith("#") and term != "<empty>"
                    and not re.fullmatch(r"[\d*]+", term)
                    and centroid[vectorizer.vocabulary_[term]] > 0][:5]
        scores = matrix[indexes] @ centroid
        representative = items[int(np.argmax(scores))]
        # The model's own guesses, averaged over the group: a hint, not an answer.
        totals: Dict[str, float] = defaultdict(float)
        for item in items:
            for name, confidence in item.ranking[:3]:
                totals[name] += confidence
        best = sorted(totals.items(), key=lambda pair: -pair[1])[:3]
        hints = [(name, round(total / len(items), 3)) for name, total in best]
        reasons = Counter(reason for item in items for reason in item.reasons)
        conversations = list(dict.fromkeys(item.sender_id for item in items))[:5]
        groups.append(Group(items=sorted(items, key=lambda c: -c.timestamp), keywords=keywords,
                            hints=hints, reasons=dict(reasons), representative=representative,
                            conversations=conversations))
    groups.sort(key=lambda g: (-len(g.items), -max(c.timestamp for c in g.items)))
    return groups
