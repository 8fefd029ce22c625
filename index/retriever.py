"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest import Chunk

from .dense import search_all
from .embedder import Embedder
from .lexical import BM25Index, JiebaTokenizer, Tokenizer, quoted_terms
from .store import CorpusIndex
from .text import fold

MODES = ("fused", "dense", "bm25")


@dataclass(frozen=True)
class Query:
    text: str
    folded: str
    vector: np.ndarray
    words: tuple[str, ...]


@dataclass(frozen=True)
class Passage:
    chunk: Chunk
    score: float  # the fused (or single-mode) score used for ranking
    cosine: float  # cosine of query and chunk text
    dense: float  # cosine plus the heading bonus
    lexical: float  # BM25 score


@dataclass(frozen=True)
class RetrievalWeights:
    # Headings are scored separately and added to their chunks' dense score
    # (prefixing the heading path to short bullets drowned them; see README).
    heading: float = 0.5
    rrf_k: float = 10.0
    lexical: float = 1.0  # weight of the BM25 ranking in the fusion (dense = 1)
    candidates: int = 50


class Retriever:
    def __init__(
        self, corpus: CorpusIndex, embedder: Embedder, tokenizer: Tokenizer | None = None,
        weights: RetrievalWeights | None = None,
    ) -> None:
        self.corpus = corpus
        self.embedder = embedder
        self.tokenizer = tokenizer or JiebaTokenizer(quoted_terms(d.text for d in corpus.documents.values()))
        self.weights = weights or RetrievalWeights()
        self.bm25 = BM25Index([_lexical_text(c) for c in corpus.chunks], self.tokenizer)
        self._positions = {c.id: i for i, c in enumerate(corpus.chunks)}

    def prepare(self, text: str) -> Query:
        folded = fold(text)
        vector = self.embedder.embed_queries([folded])[0]
        return Query(text=text, folded=folded, vector=vector, words=tuple(self.tokenizer(folded)))

    def heading_bonus(self, query: Query, ids: np.ndarray) -> np.ndarray:
        heading_ids = self.corpus.chunk_heading[ids]
        headings = np.where(heading_ids >= 0, self.corpus.heading_vectors[heading_ids] @ query.vector, 0.0)
        return self.weights.heading * headings

    def search(self, query: Query, k: int = 5, mode: str = "fused", period: str | None = None) -> list[Passage]:
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        n = len(self.corpus.chunks)
        w = self.weights
        _, dense_ids = search_all(self.corpus.faiss_index, query.vector, w.candidates)
        lexical = self.bm25.scores(list(query.words)) if query.words else np.zeros(n, np.float32)
        lexical_ids = np.argsort(-lexical, kind="stable")[: w.candidates]
        lexical_ids = lexical_ids[lexical[lexical_ids] > 0]
        candidates = np.unique(np.concatenate([dense_ids, lexical_ids])).astype(np.int64)
        cosine = self.corpus.chunk_vectors[candidates] @ query.vector
        dense = cosine + self.heading_bonus(query, candidates)
        if mode == "dense":
            score = dense
        elif mode == "bm25":
            score = lexical[candidates] + 1e-6 * dense  # dense breaks ties among zero BM25 scores
        else:
            dense_rank = _ranks(dense)
            lexical_rank = np.where(lexical[candidates] > 0, _ranks(lexical[candidates]), np.inf)
            score = 1 / (w.rrf_k + dense_rank) + w.lexical / (w.rrf_k + lexical_rank)
        if period:
            # A question that names its year prefers passages of that part (ties broken by score).
            in_period = np.array([self.corpus.chunks[i].period.startswith(period) for i in candidates])
            score = score + np.where(in_period, score.max() - score.min() + 1e-9, 0) * 0.5
        order = np.argsort(-score, kind="stable")[:k]
        return [
            Passage(
                self.corpus.chunks[candidates[i]], float(score[i]), float(cosine[i]), float(dense[i]),
                float(lexical[candidates[i]]),
            )
            for i in order
        ]

    def sentence_vectors(self, chunk: Chunk) -> np.ndarray:
        i = self._positions[chunk.id]
        start, end = self.corpus.sentence_offsets[i], self.corpus.sentence_offsets[i + 1]
        return self.corpus.sentence_vectors[start:end]


def _lexical_text(chunk: Chunk) -> str:
    # The leaf heading joins the chunk's words for BM25: a short tag, not the whole path.
    return chunk.text + "\n" + (chunk.heading_path[-1] if chunk.heading_path else "")


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks
