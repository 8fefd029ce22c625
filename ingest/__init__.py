"""ingest: files (text, Markdown, PDF, Word, web pages) → documents → chunks with exact offsets."""

from .models import Chunk, Document, Span
from .reader import SUFFIXES, ExtractionCache, IngestError, Skipped, read_document, read_documents
from .structure import CHUNKER_VERSION, chunk_document

__all__ = [
    "CHUNKER_VERSION", "SUFFIXES", "Chunk", "Document", "ExtractionCache", "IngestError", "Skipped", "Span",
    "chunk_document",
    "read_document", "read_documents",
]
