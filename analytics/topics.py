"""Topic tags and terms of customer messages.

- Terms: jieba tokens (the project's dictionary in jieba_dict/ plus the lexicon's
  keywords, so 屏幕闪烁 stays one word) of two or more characters, minus stopwords,
  digits and masked parts, plus adjacent-word pairs (屏幕+闪烁 -> 屏幕闪烁).
- Topics: the lexicon in topics.yml (价格抱怨, 功能询问, 物流投诉, 竞品对比, 包装破损 ...) and
  the sessions' intent groups.
- Clusters: what the lexicon does not cover is grouped with TF-IDF over the terms and
  k-means (fixed seed); a cluster is named by its top terms (屏幕·闪烁·黑屏) and a trainer
  renames or merges it in topics.yml `cluster_names` or through the API.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from analytics import store
from analytics.config import topics_config

ROOT = Path(__file__).resolve().parent.parent
DICT_DIR = ROOT / "jieba_dict"
TERM = re.compile(r"^[\u4e00-\u9fa5A-Za-z][\u4e00-\u9fa5A-Za-z0-9]+$")
ORDER_LIKE = re.compile(r"^[A-Za-z]{0,3}\d+[A-Za-z0-9]*$|^[A-Za-z]{1,2}$")

logging.getLogger("jieba").setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def tokenizer():
    import jieba

    instance = jieba.Tokenizer()
    for path in sorted(DICT_DIR.glob("*.txt")):
        instance.load_userdict(str(path))
    for words in topics_config()["topics"].values():
        for word in words:
            instance.add_word(word, freq=20000)
    return instance


@lru_cache(maxsize=1)
def _stopwords() -> frozenset:
    return frozenset(topics_config().get("stopwords") or [])


def words(text: str) -> List[str]:
    stop = _stopwords()
    return [w for w in tokenizer().lcut(text or "")
            if len(w) >= 2 and TERM.match(w) and not ORDER_LIKE.match(w) and w not in stop
            and "*" not in w]


def terms(text: str) -> List[str]:
    """Distinct terms of a text: words and adjacent word pairs (for phrases)."""
    found = words(text)
    pairs = [a + b for a, b in zip(found, found[1:], strict=False) if len(a + b) <= 6]
    return list(dict.fromkeys(found + pairs))


def lexicon_topics(text: str) -> List[str]:
    text = text or ""
    return [topic for topic, keywords in topics_config()["topics"].items()
            if any(keyword in text for keyword in keywords)]


# ---- clusters -------------------------------------------------------------------------

def cluster_renames(engine: Optional[Engine] = None) -> Dict[str, str]:
    names = dict(topics_config().get("cluster_names") or {})
    if engine is not None:
        with engine.connect() as connection:
            names.update({row[0]: row[1] for row in connection.execute(
                sa.select(store.cluster_names.c.signature, store.cluster_names.c.name))})
    return names


def set_cluster_name(engine: Engine, generated: str, name: str) -> None:
    """Rename (or, with a name another cluster has, merge) a generated cluster."""
    with engine.begin() as connection:
        connection.execute(store.cluster_names.delete().where(
            store.cluster_names.c.signature == generated))
        connection.execute(store.cluster_names.insert().values(signature=generated,
                                                               name=name[:80]))


def cluster(texts: List[str], max_clusters: int = 12, seed: int = 0,
            renames: Optional[Dict[str, str]] = None) -> List[Optional[str]]:
    """A cluster name per text (None for texts without terms). Deterministic."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    renames = renames or {}
    token_lists = [words(text) for text in texts]
    usable = [i for i, tokens in enumerate(token_lists) if tokens]
    names: List[Optional[str]] = [None] * len(texts)
    if len(usable) < 4:
        return names
    vectorizer = TfidfVectorizer(analyzer=lambda tokens: tokens, min_df=2)
    try:
        matrix = vectorizer.fit_transform([token_lists[i] for i in usable])
    except ValueError:  # no term appears twice
        return names
    k = max(2, min(max_clusters, int(round(math.sqrt(len(usable) / 4))), len(usable) - 1))
    model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(matrix)
    vocabulary = np.array(vectorizer.get_feature_names_out())
    labels = {}
    for index, centre in enumerate(model.cluster_centers_):
        top = vocabulary[np.argsort(-centre)[:3]]
        generated = "·".join(str(term) for term in top if term)
        labels[index] = renames.get(generated, generated)
    for row, label in zip(usable, model.labels_, strict=False):
        names[row] = labels[int(label)]
    return names


# ---- per-session tags -----------------------------------------------------------------

def session_tags(customer_texts: Iterable[str], intent_groups: Iterable[Optional[str]]
                 ) -> Dict[str, List[str]]:
    text = " ".join(customer_texts)
    return {"topics": lexicon_topics(text),
            "intent_groups": sorted({g for g in intent_groups if g})}


def topic_table(sessions: List[Any], engine: Optional[Engine] = None,
                cluster_uncovered: bool = True) -> Dict[str, Any]:
    """Topics over sessions: lexicon topics, intent groups and clusters of the customer
    messages no lexicon topic covers; counts and example session ids."""
    topic_sessions: Dict[str, List[Any]] = defaultdict(list)
    groups: Counter = Counter()
    uncovered: List[tuple] = []
    for session in sessions:
        texts = [m.get("text") or "" for m in session.customer_msgs]
        tags = session_tags(texts, (m.get("intent_group") for m in session.customer_msgs))
        for topic in tags["topics"]:
            topic_sessions[topic].append(session)
        groups.update(tags["intent_groups"])
        if not tags["topics"]:
            meaningful = [t for t in texts if words(t)]
            if meaningful:
                uncovered.append((session, " ".join(meaningful)))
    clusters: Dict[str, List[Any]] = defaultdict(list)
    if cluster_uncovered and uncovered:
        names = cluster([text for _, text in uncovered], renames=cluster_renames(engine))
        for (session, _), name in zip(uncovered, names, strict=False):
            if name:
                clusters[name].append(session)
    return {"topics": {t: len(s) for t, s in sorted(topic_sessions.items(),
                                                     key=lambda kv: -len(kv[1]))},
            "topic_sessions": topic_sessions,
            "intent_groups": dict(groups.most_common()),
            "clusters": {c: len(s) for c, s in sorted(clusters.items(),
                                                       key=lambda kv: -len(kv[1]))},
            "cluster_sessions": clusters}


def stable_id(*parts: Any) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:32]
