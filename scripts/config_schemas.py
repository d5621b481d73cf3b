#!/usr/bin/env python
"""JSON Schemas of the YAML files trainers and the shop edit, from their pydantic models.

    .venv/bin/python scripts/config_schemas.py [FOLDER]      # default docs/schemas

One `<path with dots>.schema.json` per file (escalation/rules.yml ->
escalation.rules.schema.json). An editor with a YAML language server validates and
completes the files with them (README, Configuration); tests/service_common/
test_config.py fails when the committed schemas are not what the models say.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Type

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FOLDER = ROOT / "docs" / "schemas"


def config_files() -> Dict[str, Type[BaseModel]]:
    """Every edited config file (path from the project root) and its model."""
    from actions.aftersales import PolicyFile
    from actions.playbook import PlaybookFile
    from actions.products import AttributesFile
    from analytics.config import TargetsFile, TopicsFile
    from brand.empathy import EmpathyFile
    from brand.tone import ToneFile
    from compliance.checker import RulesFile as ComplianceRules
    from components.emotion import LexiconFile
    from desk.assist import AccessFile, CannedFile
    from desk.config import QueuesFile
    from escalation.rules import RulesFile as EscalationRules
    from knowledge.tokens import PipelineFile
    from shop.promotions import PromotionsFile

    return {
        "analytics/targets.yml": TargetsFile,
        "analytics/topics.yml": TopicsFile,
        "brand/empathy.yml": EmpathyFile,
        "brand/tone.yml": ToneFile,
        "compliance/rules.yml": ComplianceRules,
        "components/emotion_lexicon.yml": LexiconFile,
        "config.yml": PipelineFile,  # the part the knowledge index reads
        "desk/canned.yml": CannedFile,
        "desk/playbook_access.yml": AccessFile,
        "desk/queues.yml": QueuesFile,
        "escalation/playbook.yml": PlaybookFile,
        "escalation/rules.yml": EscalationRules,
        "policy/aftersales.yml": PolicyFile,
        "policy/product_attributes.yml": AttributesFile,
        "shop/promotions.yml": PromotionsFile,
    }


def schema_file(config_path: str) -> str:
    return config_path.removesuffix(".yml").replace("/", ".") + ".schema.json"


def export(folder: Path = FOLDER) -> List[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for config_path, model in config_files().items():
        schema = {"$schema": "http://json-schema.org/draft-07/schema#", **model.schema()}
        schema["title"] = config_path
        target = folder / schema_file(config_path)
        target.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n",
                          encoding="utf-8")
        written.append(target)
    return written


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for path in export(Path(args[0]) if args else FOLDER):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
