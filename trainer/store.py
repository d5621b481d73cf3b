"""The trainer's own small database: which listed messages are done (TRAINER_DB_URL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import sqlalchemy as sa

from trainer.source import engine_for

metadata = sa.MetaData()
REVIEWS = sa.Table(
    "trainer_reviews", metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),      # labelled | dismissed
    sa.Column("intent", sa.String(100)),
    sa.Column("example", sa.Text),                          # what went into the YAML
    sa.Column("file", sa.String(300)),
    sa.Column("actor", sa.String(100)),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("at", sa.Float, nullable=False),
)
STORIES = sa.Table(
    "trainer_stories", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("path", sa.String(300), nullable=False),
    sa.Column("actor", sa.String(100)),
    sa.Column("at", sa.Float, nullable=False),
)


class ReviewStore:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.engine = engine_for(url)
        metadata.create_all(self.engine)

    def done(self) -> Dict[str, str]:
        with self.engine.connect() as connection:
            return {row.key: row.status
                    for row in connection.execute(sa.select(REVIEWS.c.key, REVIEWS.c.status))}

    def mark(self, rows: Iterable[Dict[str, Optional[str]]], status: str, actor: str) -> int:
        now, count = time.time(), 0
        with self.engine.begin() as connection:
            for row in rows:
                # Idempotent: labelling the same message twice keeps the first record.
                exists = connection.execute(
                    sa.select(REVIEWS.c.key).where(REVIEWS.c.key == row["key"])).first()
                if exists:
                    continue
                connection.execute(REVIEWS.insert().values(
                    key=row["key"], status=status, intent=row.get("intent"),
                    example=row.get("example"), file=row.get("file"), actor=actor,
                    sender_id=row.get("sender_id"), at=now))
                count += 1
        return count

    def history(self, limit: int = 50) -> List[Dict[str, object]]:
        query = sa.select(REVIEWS).order_by(REVIEWS.c.at.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def story_exported(self, sender_id: str, path: str, actor: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(STORIES.insert().values(sender_id=sender_id, path=path,
                                                       actor=actor, at=time.time()))
