"""Plain data produced by ingest: documents, chunks and sentences with exact offsets."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

PERIOD_INTRO = "intro"


@dataclass(frozen=True)
class Span:
    """A sentence inside a chunk; `start`/`end` index the document's original text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Chunk:
    id: str
    doc: str
    kind: str  # paragraph | bullet | slogan | byline
    heading_path: tuple[str, ...]
    period: str  # e.g. "2022 review", "2023 plan", "intro"
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...] = field(default=())
    page: int | None = None  # the page it is on (PDF documents; numbered from 1)

    @property
    def heading(self) -> str:
        return " › ".join(self.heading_path)


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    path: str
    text: str  # the text read or extracted from the file; every offset points into it
    chunks: tuple[Chunk, ...]
    kind: str = "text"  # text | markdown | pdf | docx | html
    pages: tuple[int, ...] = ()  # PDF: the offset in `text` where each page starts

    def page_at(self, offset: int) -> int | None:
        """The page (from 1) holding text[offset], or None for a document without pages."""
        return bisect.bisect_right(self.pages, offset) if self.pages else None

    @property
    def has_periods(self) -> bool:
        """Whether the document is divided into dated parts (e.g. a year's review and plan)."""
        return any(c.period != PERIOD_INTRO for c in self.chunks)
