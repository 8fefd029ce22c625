"""Plain data produced by ingest: documents, chunks and sentences with exact offsets."""

from __future__ import annotations

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

    @property
    def heading(self) -> str:
        return " › ".join(self.heading_path)


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    path: str
    text: str
    chunks: tuple[Chunk, ...]
