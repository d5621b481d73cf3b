"""Shop knowledge: ingest product pages and SOPs, answer with a passage and its source.

    from knowledge import KnowledgeIndex
    index = KnowledgeIndex.open()              # KNOWLEDGE_DB or var/knowledge.sqlite
    hit = index.answer("涂层耐刮吗", product_id="P5001")
    if hit is None: ...                        # say so and offer a human; never guess

See knowledge/README.md for the command line and the thresholds.
"""

from knowledge.config import default_db_path, default_doc_folders
from knowledge.documents import DocumentError
from knowledge.index import MIN_COVERAGE, MIN_SCORE, PRODUCT_BOOST, Hit, KnowledgeIndex
from knowledge.ingest import IngestReport, ingest
from knowledge.store import StoreError

__all__ = [
    "MIN_COVERAGE", "MIN_SCORE", "PRODUCT_BOOST", "DocumentError", "Hit", "IngestReport",
    "KnowledgeIndex", "StoreError", "default_db_path", "default_doc_folders", "ingest",
]
