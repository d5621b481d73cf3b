"""Search the ingested passages (BM25 over jieba tokens) and decide when an answer is good enough.

The BM25 model lives in memory, built from the tokens stored at ingest time when the index
is opened; the database is not read again until ``refreshed()`` sees a newer ingest.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Sequence, Set

from rank_bm25 import BM25Okapi

from knowledge.config import default_db_path
from knowledge.passages import TITLE_SEPARATOR
from knowledge.store import Store, StoredPassage
from knowledge.tokens import Tokenizer, shared_tokenizer

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- the answer thresholds
# Chosen on the sample documents with the labelled questions of
# tests/knowledge/test_knowledge_search.py (knowledge/README.md shows the figures):
# every answerable question clears both by a margin, every unanswerable one misses one.
#
# MIN_COVERAGE: share of the question's content that the passage contains, each content
# word weighted by its IDF (rare words say more about the topic than words found in most
# passages); a word the index has never seen counts at the highest weight, so "能烤蛋糕吗"
# is not answered by a passage that only matches the product's name.
MIN_COVERAGE = 0.6
# MIN_SCORE: the BM25 score divided by the sum of the IDFs of the question's indexed words,
# i.e. 1.0 is "every word once, in a passage of average length". Below it the words are
# only a small part of a long passage.
MIN_SCORE = 0.4
# Passages of the product in context win over the general policies and other products'
# pages when both match ("保修多久" on the air fryer's page: its own warranty, 电机3年).
PRODUCT_BOOST = 1.5
# answer() looks this deep for a hit that clears the thresholds.
ANSWER_CANDIDATES = 5
# BM25Okapi's IDF goes to zero or below for a word in half the passages or more (and for
# every word of a one-passage index); a floor keeps such a word counting a little.
IDF_FLOOR = 0.01


@dataclass(frozen=True)
class Hit:
    text: str  # the passage: what the bot may say
    source: str  # file path + "#heading", for the agent and the logs
    title: str  # document title > heading path
    score: float  # normalised BM25 score, 0..1 (see MIN_SCORE)
    product_id: Optional[str]  # catalogue product of the document, None for policies
    coverage: float  # IDF-weighted share of the question's words found (see MIN_COVERAGE)

    @property
    def good_enough(self) -> bool:
        return self.coverage >= MIN_COVERAGE and self.score >= MIN_SCORE


class KnowledgeIndex:
    """Read-only and thread-safe once built; reopen (``refreshed()``) after an ingest."""

    def __init__(self, passages: Sequence[StoredPassage], tokenizer: Tokenizer,
                 db_path: Optional[Path] = None, generation: int = 0) -> None:
        self.tokenizer = tokenizer
        self.db_path = db_path
        self.generation = generation
        self._passages = list(passages)
        self._bm25 = BM25Okapi([p.tokens for p in self._passages]) if self._passages else None
        self._document_frequency: Counter = Counter()
        if self._bm25 is not None:
            for word, idf in self._bm25.idf.items():
                self._bm25.idf[word] = max(idf, IDF_FLOOR)
            for frequencies in self._bm25.doc_freqs:
                self._document_frequency.update(frequencies.keys())
        self._product_names: Dict[str, FrozenSet[str]] = {}
        for passage in self._passages:
            if passage.product_id and passage.product_id not in self._product_names:
                self._product_names[passage.product_id] = frozenset(
                    tokenizer.document_tokens(passage.document_title))
        self.open_seconds = 0.0

    @classmethod
    def open(cls, path: Optional[Path] = None,
             tokenizer: Optional[Tokenizer] = None) -> KnowledgeIndex:
        """Load the index at ``path`` (default: KNOWLEDGE_DB or var/knowledge.sqlite).

        Raises StoreError when there is no index there yet.
        """
        tokenizer = tokenizer or shared_tokenizer()
        path = Path(path or default_db_path())
        started = time.perf_counter()
        store = Store.open(path)
        try:
            passages = list(store.passages())
            generation = store.generation()
            signature = store.meta("tokenizer")
        finally:
            store.close()
        if passages and signature != tokenizer.signature:
            logger.warning(
                "knowledge: %s was tokenised with another dictionary or rules; run "
                "`python -m knowledge ingest` to re-tokenise", path)
        index = cls(passages, tokenizer, path, generation)
        index.open_seconds = time.perf_counter() - started
        return index

    def __len__(self) -> int:
        return len(self._passages)

    def stale(self) -> bool:
        """True when an ingest changed the database since this index was loaded."""
        if self.db_path is None:
            return False
        store = Store.open(self.db_path)
        try:
            return store.generation() != self.generation
        finally:
            store.close()

    def refreshed(self) -> KnowledgeIndex:
        """This index, or a newly opened one when the database changed."""
        return KnowledgeIndex.open(self.db_path, self.tokenizer) if self.stale() else self

    # ------------------------------------------------------------------ search

    def terms(self, query: str) -> List[str]:
        """The question's content words as the index knows them.

        A word the index has never seen is replaced by the indexed words inside it
        ("20000毫安充电宝" -> 充电宝 ...), or kept, uncovered, when there are none.
        """
        terms: List[str] = []
        for word in self.tokenizer.query_terms(query):
            parts = [word]
            if word not in self._document_frequency:
                parts = self.tokenizer.split_known(word, self._document_frequency) or [word]
            terms.extend(part for part in parts if part not in terms)
        return terms

    def search(self, query: str, product_id: Optional[str] = None,
               top_k: int = 3) -> List[Hit]:
        """Best passages first, each sharing at least one content word with the query.

        Product pages are only searched for the product in context (``product_id``) and
        for products the query names ("充电宝能带上飞机吗"); their passages are boosted over
        the general documents (policies, SOPs), which are always searched. A page's facts
        are never given for a product nobody mentioned.
        Hits are not filtered by the thresholds: see ``answer()`` / ``Hit.good_enough``.
        """
        terms = self.terms(query)
        if not terms or self._bm25 is None:
            return []
        products = self._products_in_question(terms, product_id)
        candidates = [position for position, passage in enumerate(self._passages)
                      if passage.product_id is None or passage.product_id in products]
        if not candidates:
            return []
        raw_scores = self._bm25.get_batch_scores(terms, candidates)
        weights = {term: self._weight(term) for term in terms}
        idf_sum = sum(self._bm25.idf.get(term, 0.0) for term in terms) or 1.0
        ranked = []
        for position, raw in zip(candidates, raw_scores, strict=True):
            if raw <= 0:
                continue
            passage = self._passages[position]
            coverage = self._coverage(terms, weights, passage, self._bm25.doc_freqs[position])
            boost = PRODUCT_BOOST if passage.product_id else 1.0
            hit = Hit(passage.text, passage.source, passage.title,
                      round(min(1.0, raw / idf_sum), 4), passage.product_id, round(coverage, 4))
            ranked.append((raw * boost, position, hit))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        return [hit for _, _, hit in ranked[:top_k]]

    def _coverage(self, terms: List[str], weights: Dict[str, float], passage: StoredPassage,
                  present: Dict[str, int]) -> float:
        """IDF-weighted share of the question's words in the passage.

        The product's own name does not count for its pages: every passage of the page has
        it, so "空气炸锅能烤蛋糕吗" would otherwise be half covered by any of them.
        """
        name = self._product_names.get(passage.product_id or "", frozenset())
        asked = [term for term in terms if term not in name] or terms
        total = sum(weights[term] for term in asked)
        return sum(weights[term] for term in asked if term in present) / total

    def answer(self, query: str, product_id: Optional[str] = None) -> Optional[Hit]:
        """The passage to answer with, or None: then say so and offer a human agent."""
        terms = self.terms(query)
        for hit in self.search(query, product_id, ANSWER_CANDIDATES):
            if not hit.good_enough:
                continue
            if product_id and hit.product_id is None and \
                    not self._line_about_product(terms, hit, product_id):
                continue
            return hit
        return None

    def _line_about_product(self, terms: List[str], hit: Hit, product_id: str) -> bool:
        """A general document answers a question about the product in context only on a
        line that names the product and holds the question's words: "它支持无线充电吗" on
        the air fryer is not answered by a warranty table with 无线吸尘器 and 充电宝 on other
        products' lines."""
        name = self._product_names.get(product_id, frozenset())
        asked = [term for term in terms if term not in name] or terms
        weights = {term: self._weight(term) for term in asked}
        total = sum(weights.values()) or 1.0
        heading = set(self.tokenizer.document_tokens(hit.title))
        for line in re.split(r"[\n。!?！？]", hit.text):
            words = set(self.tokenizer.document_tokens(line))
            if name and not words & name:
                continue
            covered = sum(weights[term] for term in asked if term in words | heading)
            if covered / total >= MIN_COVERAGE:
                return True
        return False

    def topics(self, product_id: Optional[str]) -> List[str]:
        """Top-level headings of the product's pages (None: the general documents), in order.

        For clarifying questions: offer 安装步骤 / 使用注意事项 only when the page has them.
        """
        found: List[str] = []
        for passage in self._passages:
            if passage.product_id == product_id:
                parts = passage.title.split(TITLE_SEPARATOR)
                if len(parts) > 1 and parts[1] not in found:
                    found.append(parts[1])
        return found

    def _weight(self, term: str) -> float:
        """Lucene's always-positive IDF; a word no passage has gets the highest weight."""
        total = len(self._passages)
        frequency = self._document_frequency.get(term, 0)
        return math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))

    def _products_in_question(self, terms: List[str], product_id: Optional[str]) -> Set[str]:
        """The product in context plus the products whose name the question uses."""
        products: Set[str] = {product_id} if product_id else set()
        own_name = self._product_names.get(product_id or "", frozenset())
        asked = set(terms)
        for other, name in self._product_names.items():
            # Only words that tell the products apart: a brand shared with the product in
            # context (悦家) does not name another product.
            if asked & (name - own_name):
                products.add(other)
        return products
