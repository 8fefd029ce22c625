"""The exchange log: every question, answer, citation and 👍/👎 in SQLite (WAL mode).

Each write is its own committed transaction with synchronous=FULL, so a crash or kill
loses nothing that was committed. The source document's sha256 is stored with each
exchange, and each source text once by that hash, so old citations stay checkable
against the text they were answered from after the source changes."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nanhai_qa.app.answering.models import Answer

SCHEMA = """
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    question TEXT NOT NULL,
    history_length INTEGER NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,      -- JSON list, as in the batch schema
    refused INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    feedback INTEGER,             -- 1 = 👍, -1 = 👎, NULL = none
    sources TEXT NOT NULL,        -- JSON {doc id: sha256 of its text} at answer time
    error TEXT
);
CREATE INDEX IF NOT EXISTS exchanges_time ON exchanges(time);
CREATE TABLE IF NOT EXISTS sources (  -- every source text answered from, by its sha256
    sha256 TEXT PRIMARY KEY,
    text TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Exchange:
    id: int
    time: str
    question: str
    history_length: int
    answer: str
    citations: list[dict]
    refused: bool
    latency_ms: float
    feedback: int | None
    sources: dict[str, str]
    error: str | None


class ExchangeLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._texts: dict[str, str] = {}  # sha256 → source text, as read so far
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short connection per operation: Gradio calls from many threads.
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA synchronous=FULL")
            with db:  # commits, or rolls back on error
                yield db
        finally:
            db.close()

    def record(self, answer: Answer, history_length: int, sources: dict[str, str]) -> int:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO exchanges (time, question, history_length, answer, citations, refused, latency_ms,"
                " sources, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.strftime("%Y-%m-%d %H:%M:%S"), answer.question, history_length, answer.answer,
                    json.dumps([c.to_json() for c in answer.citations], ensure_ascii=False),
                    int(answer.refused), answer.latency_ms, json.dumps(sources), answer.error,
                ),
            )
            return int(cursor.lastrowid)

    def remember_sources(self, sources: dict[str, str], texts: dict[str, str]) -> None:
        """Keeps each document's text under its sha256 ({doc id: sha256}, {doc id: text})."""
        with self._connect() as db:
            db.executemany(
                "INSERT OR IGNORE INTO sources (sha256, text) VALUES (?, ?)",
                [(sha, texts[doc]) for doc, sha in sources.items()],
            )

    def source_texts(self, exchange: Exchange) -> dict[str, str]:
        """{doc id: text} of the sources `exchange` was answered from, as far as known.
        A text never changes under its hash, so each is read from SQLite once."""
        missing = [sha for sha in exchange.sources.values() if sha not in self._texts]
        if missing:
            with self._connect() as db:
                for sha in missing:
                    if row := db.execute("SELECT text FROM sources WHERE sha256 = ?", (sha,)).fetchone():
                        self._texts[sha] = row[0]
        return {doc: self._texts[sha] for doc, sha in exchange.sources.items() if sha in self._texts}

    def set_feedback(self, exchange_id: int, liked: bool | None) -> None:
        value = None if liked is None else (1 if liked else -1)
        with self._connect() as db:
            db.execute("UPDATE exchanges SET feedback = ? WHERE id = ?", (value, exchange_id))

    def get(self, exchange_id: int) -> Exchange | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM exchanges WHERE id = ?", (exchange_id,)).fetchone()
        return _exchange(row) if row else None

    def recent(
        self, limit: int = 200, refused_only: bool = False, disliked_only: bool = False, text: str = ""
    ) -> list[Exchange]:
        """Newest first, filtered."""
        where, params = [], []
        if refused_only:
            where.append("refused = 1")
        if disliked_only:
            where.append("feedback = -1")
        if text.strip():
            where.append("(question LIKE ? ESCAPE '\\' OR answer LIKE ? ESCAPE '\\')")
            pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [pattern, pattern]
        sql = "SELECT * FROM exchanges" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(sql, [*params, limit]).fetchall()
        return [_exchange(row) for row in rows]


def _exchange(row: tuple) -> Exchange:
    (id_, time_, question, history_length, answer, citations, refused, latency, feedback, sources, error) = row
    return Exchange(
        id=id_, time=time_, question=question, history_length=history_length, answer=answer,
        citations=json.loads(citations), refused=bool(refused), latency_ms=latency, feedback=feedback,
        sources=json.loads(sources), error=error,
    )
