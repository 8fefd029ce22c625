"""ingest: text files → documents → chunks with exact offsets."""

from .models import Chunk, Document, Span
from .reader import IngestError, read_document, read_documents
from .structure import CHUNKER_VERSION

__all__ = ["CHUNKER_VERSION", "Chunk", "Document", "IngestError", "Span", "read_document", "read_documents"]
