"""requirements-actions.txt is enough for the action server, which needs neither Rasa nor
TensorFlow: a fresh interpreter starts it the way `python -m actions.server` does (every
action module), takes the paths that import lazily (an address parsed with cpca, a question
tokenised with jieba, the ledger migrated with Alembic), and every third-party module it
then holds belongs to a package that file installs."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Dict, Set

ROOT = Path(__file__).resolve().parents[2]
SLIM = ROOT / "requirements-actions.txt"
HEAVY = ("rasa", "tensorflow", "tensorflow_hub", "tensorflow_text", "keras", "torch", "spacy",
         "transformers")
# Used when present, not needed: Mako (Alembic's templates) highlights errors with Pygments.
OPTIONAL = {"pygments"}

START_ACTION_SERVER = r"""
import json, sys, sysconfig
before = set(sys.modules)
from rasa_sdk.endpoint import create_app
import actions.server
create_app("actions", cors_origins="")  # what actions.server.build_app does: every action module
from actions import playbook, text
from knowledge.tokens import shared_tokenizer
assert text.parse_address("浙江省杭州市西湖区文三路90号")["city"] == "杭州市"
assert shared_tokenizer().query_terms("发票怎么开")
playbook.Ledger("sqlite://")  # an in-memory ledger, migrated to head
stdlib = sysconfig.get_paths()["stdlib"]
found = {}
for name in set(sys.modules) - before:
    top = name.split(".")[0]
    module = sys.modules.get(top)
    path = getattr(module, "__file__", None) or ""
    if path and not path.startswith(stdlib + "/"):  # neither built in nor the stdlib
        found[top] = path
print(json.dumps({"modules": sorted(sys.modules), "third_party": found}))
"""


def _pins(path: Path) -> Dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[_normal(name)] = version
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(names: Set[str]) -> Set[str]:
    """The distributions these install, as the full environment resolves them."""
    seen: Set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # a requirement for other Pythons only
            continue
        for requirement in requirements:
            if "extra ==" in requirement:
                continue
            todo.append(_normal(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0]))
    return seen


def _owners(paths: Set[str]) -> Dict[str, str]:
    """The distribution each file was installed by (from the distributions' RECORD files)."""
    owners = {}
    for distribution in metadata.distributions():
        for file in distribution.files or []:
            path = str(Path(distribution.locate_file(file)).resolve())
            if path in paths:
                owners[path] = _normal(distribution.metadata["Name"])
    return owners


def _action_server_imports() -> Dict[str, object]:
    result = subprocess.run([sys.executable, "-c", START_ACTION_SERVER], cwd=ROOT,
                            capture_output=True, text=True, check=True, timeout=300)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_action_server_needs_only_the_slim_requirements() -> None:
    imported = _action_server_imports()
    heavy = [m for m in imported["modules"] if m.split(".")[0] in HEAVY]
    assert heavy == []
    files = {top: str(Path(path).resolve()) for top, path in imported["third_party"].items()
             if not Path(path).resolve().is_relative_to(ROOT)  # not the project's own
             and top not in OPTIONAL}
    owner = _owners(set(files.values()))
    installed = _closure(set(_pins(SLIM)))
    missing = {top: owner.get(path) for top, path in files.items()
               if owner.get(path) not in installed}
    assert missing == {}, f"imported by the action server, not in {SLIM.name}: {missing}"


def test_slim_pins_are_versions_the_full_install_allows() -> None:
    """The project's own pins are requirements.txt's; the rest are versions Rasa's and the
    Rasa SDK's requirements accept (so the full install tests the same kind of set)."""
    full = _pins(ROOT / "requirements.txt")
    allowed: Dict[str, list] = {}
    with warnings.catch_warnings():  # Rasa's packaging 20.9 on a newer pyparsing
        warnings.simplefilter("ignore")
        from packaging.requirements import Requirement

        for line in (metadata.requires("rasa") or []) + (metadata.requires("rasa-sdk") or []):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                allowed.setdefault(_normal(requirement.name), []).append(requirement.specifier)
    for name, version in _pins(SLIM).items():
        if name in full:
            assert full[name] == version, name
        else:
            assert name in allowed, f"{name}: pin it in requirements.txt too"
            assert all(version in specifier for specifier in allowed[name]), name
