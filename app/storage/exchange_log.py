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
    error TEXT,
    settings_hash TEXT,           -- Settings.fingerprint() of the answering app
    prompts_version TEXT          -- the hash of its wording files
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
    settings_hash: str | None = None
    prompts_version: str | None = None


# Columns added after the first release: a log written before them gains them on open.
ADDED_COLUMNS = {"settings_hash": "TEXT", "prompts_version": "TEXT"}


class ExchangeLog:
    """`settings_hash` and `prompts_version` say which settings and wordings answered; they
    are stored with each exchange."""

    def __init__(self, path: Path, settings_hash: str | None = None, prompts_version: str | None = None) -> None:
        self.path = path
        self.versions = (settings_hash, prompts_version)
        self._texts: dict[str, str] = {}  # sha256 → source text, as read so far
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            present = {row[1] for row in db.execute("PRAGMA table_info(exchanges)")}
            for column, kind in ADDED_COLUMNS.items():
                if column not in present:
                    db.execute(f"ALTER TABLE exchanges ADD COLUMN {column} {kind}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short connection per operation: Gradio calls from many threads.
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
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
                " sources, error, settings_hash, prompts_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.strftime("%Y-%m-%d %H:%M:%S"), answer.question, history_length, answer.answer,
                    json.dumps([c.to_json() for c in answer.citations], ensure_ascii=False),
                    int(answer.refused), answer.latency_ms, json.dumps(sources), answer.error, *self.versions,
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


def _exchange(row: sqlite3.Row) -> Exchange:
    values = dict(row)
    return Exchange(**dict(
        values, citations=json.loads(values["citations"]), refused=bool(values["refused"]),
        sources=json.loads(values["sources"]),
    ))
