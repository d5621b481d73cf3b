"""Settings from the environment; defaults.env holds the embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from service_common.settings import defaults

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    tracker_store_url: str
    trainer_db_url: str
    # The Rasa project whose data/nlu, domain.yml and tests/stories the trainer edits.
    project_dir: Path
    # Intents below this confidence are listed for review (the FallbackClassifier
    # threshold decides nlu_fallback; this catches the uncertain ones above it).
    confidence_threshold: float
    # Only conversations of the last N days are read (keeps the scan bounded).
    window_days: float
    rasa_bin: str
    api_token: Optional[str]

    @classmethod
    def from_env(cls, env: Optional[Dict[str, str]] = None) -> Settings:
        given = env if env is not None else os.environ  # empty: the defaults.env value
        values = {**defaults(), **{k: v for k, v in given.items() if v}}
        project = Path(values.get("TRAINER_PROJECT_DIR") or ROOT).resolve()
        rasa_bin = values.get("TRAINER_RASA_BIN") or str(ROOT / ".venv" / "bin" / "rasa")
        return cls(
            tracker_store_url=_absolute_sqlite(values["TRACKER_STORE_URL"]),
            trainer_db_url=_absolute_sqlite(values.get("TRAINER_DB_URL")
                                            or "sqlite:///var/trainer.sqlite"),
            project_dir=project,
            confidence_threshold=float(values.get("TRAINER_CONFIDENCE_THRESHOLD") or 0.6),
            window_days=float(values.get("TRAINER_WINDOW_DAYS") or 30),
            rasa_bin=rasa_bin if Path(rasa_bin).exists() else "rasa",
            api_token=values.get("TRAINER_API_TOKEN") or None,
        )


def _absolute_sqlite(url: str) -> str:
    """sqlite:///var/x.sqlite is relative to the project root, like the servers use it."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str(ROOT / url[len(prefix):])
    return url
