"""Stand-ins for the embedding model, used only where what a vector means is not what the
test checks (the persistence and fault matrices, fusion arithmetic, the unit layer). Every
test of answer quality uses the real model."""

from __future__ import annotations

import zlib

import numpy as np


class HashingEmbedder:
    """Each text's character pairs hashed into `dim` counts, L2-normalised: deterministic,
    instant, and texts sharing words get similar vectors. Counts the texts it embedded."""

    model_id = "test/hashing-bigrams"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.embedded = 0

    def _embed(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        vectors = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for pair in zip(text, text[1:], strict=False):
                vectors[row, zlib.crc32("".join(pair).encode()) % self.dim] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)
