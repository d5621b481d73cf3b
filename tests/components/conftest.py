"""The pipeline's components as `rasa train` packed them into models/shop.tar.gz (trained at
the start of `make test`), loaded from the archive as `rasa run` loads them: a test of a
component in its deployed settings reads the deployed model instead of training its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Tuple

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.storage import ModelMetadata

MODEL = Path(__file__).resolve().parents[2] / "models" / "shop.tar.gz"


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory
                  ) -> Tuple[LocalModelStorage, ModelMetadata]:
    if not MODEL.exists():
        pytest.fail("no trained model: `make test` trains it; run `make train` first")
    return LocalModelStorage.from_model_archive(tmp_path_factory.mktemp("shop-model"), MODEL)


@pytest.fixture(scope="session")
def trained_component(trained_model: Tuple[LocalModelStorage, ModelMetadata]
                      ) -> Callable[..., Any]:
    """`trained_component(NgramIntentClassifier, blend=0.7)`: the component of the trained
    model, its config overridden by the keywords (settings read at inference only)."""
    storage, metadata = trained_model
    context = ExecutionContext(metadata.predict_schema, metadata.model_id)

    def load(component: Any, **config: Any) -> Any:
        for node in metadata.predict_schema.nodes.values():
            if node.uses is component and node.resource is not None:
                # Defaults first, as Rasa's GraphNode merges them.
                return component.load({**component.get_default_config(), **node.config,
                                       **config}, storage, node.resource, context)
        raise AssertionError(f"{component.__name__} is not in {MODEL}")

    return load
