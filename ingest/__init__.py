"""ingest: text files → documents → chunks with exact offsets."""

from .models import Chunk, Document, Span
from .reader import IngestError, read_document, read_documents
from .structure import CHUNKER_VERSION, chunk_document

__all__ = [
    "CHUNKER_VERSION", "Chunk", "Document", "IngestError", "Span", "chunk_document", "read_document", "read_documents",
]
