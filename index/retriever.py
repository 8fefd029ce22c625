"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by reciprocal rank."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nanhai_qa.ingest import Chunk, Document
from nanhai_qa.ingest.patterns import HAN_CHAR, YEAR_WORD

from .crosslingual import EnglishBridge
from .dense import DEFAULT_FAISS, FaissParams, search_all
from .embedder import Embedder
from .latent import LatentTerms
from .lexical import BM25Index, JiebaTokenizer, Tokenizer, quoted_terms, tokenizer_id
from .options import ChunkContext, RetrievalMode, choose
from .store import CorpusIndex, lexical_text, open_index
from .text import fold


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
    cosine: float  # cosine of query and chunk (or its best sentence)
    lexical: float  # BM25 score


@dataclass(frozen=True)
class RetrievalWeights:
    rrf_k: float = 3.0
    lexical: float = 1.0  # weight of the BM25 ranking in the fusion (dense = 1)
    candidates: int = 50  # taken from each ranking before fusing
    # A question naming a year lifts that year's passages above the rest by this share of the score range.
    period_boost: float = 0.5


class Retriever:
    def __init__(
        self, corpus: CorpusIndex, embedder: Embedder, tokenizer: Tokenizer | None = None,
        weights: RetrievalWeights | None = None, expansions: dict[str, str] | None = None,
        latent_terms: LatentTerms | None = None, setting_words: Iterable[str] = (),
    ) -> None:
        self.corpus = corpus
        # What the answer scorer reads a question's latent terms with; it knows the index's sentences.
        self.latent_terms = latent_terms
        if latent_terms is not None:
            latent_terms.remember(corpus.latent)
        # Everyday words → the corpus's own words, added to a question that uses them (from
        # the corpus profile; README, "The corpus profile").
        self.expansions = {fold(word): words for word, words in (expansions or {}).items()}
        # The names of the corpus's setting (南海 of a report on 南海, from the profile) are not
        # searched as words: they say where every document is, not which one answers, and as
        # words they lift any short passage that names them (a slogan, the opening lines).
        self.setting_words = frozenset(fold(w) for w in setting_words)
        self.embedder = embedder
        self.tokenizer = tokenizer or JiebaTokenizer(quoted_terms(d.text for d in corpus.documents.values()))
        self.weights = weights or RetrievalWeights()
        # The index's own BM25 when it was built with this tokenizer (saved with it), else built now.
        same = corpus.bm25 is not None and corpus.manifest.get("lexical") == tokenizer_id(self.tokenizer)
        self.bm25 = corpus.bm25 if same else BM25Index.build([lexical_text(c) for c in corpus.chunks], self.tokenizer)
        self.english = EnglishBridge(self.bm25.vocabulary)
        self._positions = {c.id: i for i, c in enumerate(corpus.chunks)}

    def prepare(self, text: str) -> Query:
        folded = fold(text)
        expansion = [words for word, words in self.expansions.items() if word in folded]
        if not HAN_CHAR.search(folded):  # English: the corpus words its words stand for
            expansion += self.english.words_for(folded)
        if expansion:
            folded = f"{folded}（{' '.join(expansion)}）"
        vector = self.embedder.embed_queries([folded])[0]
        # The lexical index holds Chinese words: a question without any is searched densely
        # only. Years are left to the period preference: as words they match every passage
        # that merely mentions the year.
        words = [
            w for w in self.tokenizer(folded) if not YEAR_WORD.fullmatch(w) and w not in self.setting_words
        ] if HAN_CHAR.search(folded) else []
        return Query(text=text, folded=folded, vector=vector, words=tuple(words))

    def cosines(self, query: Query, ids: np.ndarray) -> np.ndarray:
        """Cosine of the query with each chunk, or with its best sentence when that is
        higher: one sentence of a long paragraph should not be drowned by the rest."""
        chunk = self.corpus.chunk_vectors[ids] @ query.vector
        offsets = self.corpus.sentence_offsets
        best_sentence = np.array([
            (self.corpus.sentence_vectors[offsets[i] : offsets[i + 1]] @ query.vector).max(initial=-1.0) for i in ids
        ])
        return np.maximum(chunk, best_sentence)

    def search(
        self, query: Query, k: int = 5, mode: RetrievalMode | str = RetrievalMode.FUSED, period: str | None = None,
    ) -> list[Passage]:
        mode = choose(RetrievalMode, mode, "retrieval mode")
        n = len(self.corpus.chunks)
        w = self.weights
        _, dense_ids = search_all(self.corpus.faiss_index, query.vector, w.candidates)
        lexical = self.bm25.scores(list(query.words)) if query.words else np.zeros(n, np.float32)
        lexical_ids = _top(lexical, w.candidates)
        lexical_ids = lexical_ids[lexical[lexical_ids] > 0]
        candidates = np.unique(np.concatenate([dense_ids, lexical_ids])).astype(np.int64)
        cosine = self.cosines(query, candidates)
        if mode == "dense":
            score = cosine
        elif mode == "bm25":
            score = lexical[candidates] + 1e-6 * cosine  # dense breaks ties among zero BM25 scores
        else:
            dense_rank = _ranks(cosine)
            lexical_rank = np.where(lexical[candidates] > 0, _ranks(lexical[candidates]), np.inf)
            score = 1 / (w.rrf_k + dense_rank) + w.lexical / (w.rrf_k + lexical_rank)
        if period:
            # A question that names its year prefers passages of that part (ties broken by score).
            in_period = np.array([self.corpus.chunks[i].period.startswith(period) for i in candidates])
            score = score + np.where(in_period, score.max() - score.min() + 1e-9, 0) * w.period_boost
        order = np.argsort(-score, kind="stable")[:k]
        return [
            Passage(self.corpus.chunks[candidates[i]], float(score[i]), float(cosine[i]), float(lexical[candidates[i]]))
            for i in order
        ]

    def sentence_vectors(self, chunk: Chunk) -> np.ndarray:
        i = self._positions[chunk.id]
        start, end = self.corpus.sentence_offsets[i], self.corpus.sentence_offsets[i + 1]
        return self.corpus.sentence_vectors[start:end]


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k highest values, best first (a partial sort: cheap at a million chunks)."""
    if len(values) > k:
        ids = np.argpartition(-values, k)[:k]
        return ids[np.argsort(-values[ids], kind="stable")]
    return np.argsort(-values, kind="stable")


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


def open_retriever(
    directory: Path, documents: list[Document], embedder: Embedder, tokenizer_cache: Path | None = None,
    faiss_params: FaissParams = DEFAULT_FAISS, context: ChunkContext | str = ChunkContext.PATH,
    weights: RetrievalWeights | None = None, expansions: dict[str, str] | None = None,
    setting_words: Iterable[str] = (), log: Callable[[str], None] = print,
    progress: Callable[[str, int, int], None] | None = None,
    rebuild: bool = False, readonly: bool = False,
) -> Retriever:
    """A Retriever over the index of `documents` in `directory` (loaded, or built and saved
    once; see `open_index`), with the tokenizer that knows the corpus's quoted terms (jieba
    caches its dictionary in `tokenizer_cache`) and the latent terms of the bundled e5."""
    tokenizer = JiebaTokenizer(quoted_terms(d.text for d in documents), tokenizer_cache)
    latent_terms = LatentTerms()
    corpus, _ = open_index(directory, documents, embedder, faiss_params, context, log=log, progress=progress,
                           rebuild=rebuild, readonly=readonly, tokenizer=tokenizer, latent_terms=latent_terms)
    return Retriever(corpus, embedder, tokenizer, weights, expansions, latent_terms, setting_words)
