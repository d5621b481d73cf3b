"""Topic tags and terms of customer messages.

- Terms: jieba tokens (the project's dictionary in jieba_dict/ plus the lexicon's
  keywords, so 屏幕闪烁 stays one word) of two or more characters, minus stopwords,
  digits and masked parts, plus adjacent-word pairs (屏幕+闪烁 -> 屏幕闪烁).
- Topics: the lexicon in topics.yml (价格抱怨, 功能询问, 物流投诉, 竞品对比, 包装破损 ...) and
  the sessions' intent groups.
- Clusters: what the lexicon does not cover is grouped with TF-IDF over the terms and
  k-means (fixed seed); a cluster is named by its top terms (屏幕·闪烁·黑屏) and a trainer
  renames or merges it in topics.yml `cluster_names` or through the API. A rename is keyed
  on the cluster's signature, its top terms sorted (黑屏·闪烁·屏幕 and 屏幕·闪烁·黑屏 are
  one cluster), not on the generated name, whose order follows the weights and changes as
  the week's data does.
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
    for words in topics_config().topics.values():
        for word in words:
            instance.add_word(word, freq=20000)
    return instance


@lru_cache(maxsize=1)
def _stopwords() -> frozenset:
    return frozenset(topics_config().stopwords)


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
    return [topic for topic, keywords in topics_config().topics.items()
            if any(keyword in text for keyword in keywords)]


# ---- clusters -------------------------------------------------------------------------

SEPARATOR = "·"


def signature(generated: str) -> str:
    """The stable key of a cluster: its top terms, sorted."""
    return SEPARATOR.join(sorted(part for part in generated.split(SEPARATOR) if part))


def cluster_renames(engine: Optional[Engine] = None) -> Dict[str, str]:
    """Signature -> name to show: topics.yml `cluster_names` (keys in any term order),
    then the names set through the API (stored, they win)."""
    names = {signature(key): value for key, value in topics_config().cluster_names.items()}
    if engine is not None:
        with engine.connect() as connection:
            names.update({signature(row[0]): row[1] for row in connection.execute(
                sa.select(store.cluster_names.c.signature, store.cluster_names.c.name))})
    return names


def set_cluster_name(engine: Engine, cluster: str, name: str) -> List[str]:
    """Rename a cluster (or merge it: a name another cluster shows). `cluster` is a
    generated name or signature, or a name already given (then every cluster shown under it
    is renamed). The signatures renamed."""
    given = {key: value for key, value in cluster_renames(engine).items() if value == cluster}
    targets = sorted(given) or [signature(cluster)]
    with engine.begin() as connection:
        for key in targets:
            connection.execute(store.cluster_names.delete().where(
                store.cluster_names.c.signature == key))
            connection.execute(store.cluster_names.insert().values(signature=key,
                                                                   name=name[:80]))
    return targets


def cluster(texts: List[str], max_clusters: int = 12, seed: int = 0,
            renames: Optional[Dict[str, str]] = None) -> List[Optional[str]]:
    """A cluster name per text (None for texts without terms). Deterministic."""
    return [label[1] if label else None
            for label in cluster_labels(texts, max_clusters, seed, renames)]


def cluster_labels(texts: List[str], max_clusters: int = 12, seed: int = 0,
                   renames: Optional[Dict[str, str]] = None) -> List[Optional[tuple]]:
    """(signature, name to show) per text, None for texts without terms."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    renames = renames or {}
    token_lists = [words(text) for text in texts]
    usable = [i for i, tokens in enumerate(token_lists) if tokens]
    names: List[Optional[tuple]] = [None] * len(texts)
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
        generated = SEPARATOR.join(str(term) for term in top if term)
        key = signature(generated)
        labels[index] = (key, renames.get(key, generated))
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
    signatures: Dict[str, set] = defaultdict(set)
    if cluster_uncovered and uncovered:
        labels = cluster_labels([text for _, text in uncovered],
                                renames=cluster_renames(engine))
        for (session, _), label in zip(uncovered, labels, strict=False):
            if label:
                clusters[label[1]].append(session)  # same name shown: merged
                signatures[label[1]].add(label[0])
    return {"topics": {t: len(s) for t, s in sorted(topic_sessions.items(),
                                                     key=lambda kv: -len(kv[1]))},
            "topic_sessions": topic_sessions,
            "intent_groups": dict(groups.most_common()),
            "clusters": {c: len(s) for c, s in sorted(clusters.items(),
                                                       key=lambda kv: -len(kv[1]))},
            "cluster_sessions": clusters,
            "cluster_signatures": {name: sorted(keys) for name, keys in signatures.items()}}


def topic_members(sessions: List[Any], topic: str, engine: Optional[Engine] = None) -> set:
    """Ids of the sessions tagged with `topic` (a lexicon topic or a cluster name, as
    topic_table gives them for the same sessions): the dashboard's topic drill-down."""
    table = topic_table(sessions, engine,
                        cluster_uncovered=topic not in topics_config().topics)
    members = table["topic_sessions"].get(topic) or table["cluster_sessions"].get(topic) or []
    return {session.session_id for session in members}


def stable_id(*parts: Any) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:32]
