"""Plain data the app hands out: citations and answers (the batch schema of SCHEMAS.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ValidationError, field_validator

from nanhai_qa.index import Passage


class Message(BaseModel):
    role: Literal["user", "assistant", "system"]
    content: str

    @field_validator("content", mode="before")
    @classmethod
    def _text(cls, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("content must be text")
        return value


def parse_history(raw: object) -> list[Message]:
    """Chat history in messages form; raises ValueError with a readable message."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError("history 必须是消息列表（[{\"role\": \"user\", \"content\": \"…\"}, …]）")
    try:
        return [Message.model_validate(m) for m in raw]
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"history 格式不对（{where}：{first['msg']}）") from None


def error_json(message: str) -> dict:
    """The batch-schema answer for a request that could not be answered at all."""
    return {"answer": "", "refused": False, "citations": [], "retrieved": [], "latency_ms": 0.0, "error": message}


@dataclass(frozen=True)
class Citation:
    n: int
    doc: str
    chunk_id: str
    start: int
    end: int
    quote: str
    heading: str
    period: str
    page: int | None = None  # PDF documents: the page the quote is on
    title: str = ""  # the document's title, when the corpus has several documents

    def to_json(self) -> dict:
        return {
            "n": self.n, "doc": self.doc, "chunk_id": self.chunk_id, "start": self.start, "end": self.end,
            "quote": self.quote, "heading": self.heading, "period": self.period, "page": self.page,
            "title": self.title,
        }


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    latency_ms: float = 0.0
    error: str | None = None
    notices: list[str] = field(default_factory=list)
    query: str = ""  # what was searched, after follow-up resolution
    first_token_ms: float | None = None  # time until the first generated text (extractive: all of it)
    answerable: float | None = None  # the answer scorer's probability that the passages answer it
    verified: list[bool] | None = None  # generative answers: each generated sentence verified or dropped
    # the question's topic words no document uses (topic_words.py); an answer names them, a refusal does not
    unmentioned: list[str] = field(default_factory=list)

    def to_json(self, item_id: str | None = None) -> dict:
        out: dict = {} if item_id is None else {"id": item_id}
        out.update({
            "answer": self.answer,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "retrieved": [
                {"chunk_id": p.chunk.id, "doc": p.chunk.doc, "start": p.chunk.start, "end": p.chunk.end,
                 "text": p.chunk.text, "score": round(p.score, 6), "heading": p.chunk.heading,
                 "period": p.chunk.period, "page": p.chunk.page}
                for p in self.retrieved
            ],
            "latency_ms": round(self.latency_ms, 1),
            "first_token_ms": round(self.first_token_ms if self.first_token_ms is not None else self.latency_ms, 1),
            "query": self.query,
        })
        if self.answerable is not None:
            out["answerable"] = round(self.answerable, 4)
        if self.verified is not None:
            out["verified"] = self.verified
        if self.notices:
            out["notices"] = self.notices
        if self.unmentioned:
            out["unmentioned"] = self.unmentioned
        if self.error:
            out["error"] = self.error
        return out
