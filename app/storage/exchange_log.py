"""The exchange log: every question, answer, citation and 👍/👎, in SQLite or PostgreSQL
(app/storage/database.py).

Each write is its own committed transaction, so an exchange is durable before its answer is
returned, and a crash or kill loses nothing that was committed. The source document's sha256
is stored with each exchange, and each source text once by that hash, so old citations stay
checkable against the text they were answered from after the source changes."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nanhai_qa.app.answering.models import Answer

from .database import Database, SQLiteDatabase


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
    unmentioned: list[str] = field(default_factory=list)  # the question's words no document uses


class ExchangeLog:
    """`database`: where the log lives (a Database, or the path of a SQLite file).
    `settings_hash` and `prompts_version` say which settings and wordings answered; they
    are stored with each exchange."""

    def __init__(
        self, database: Database | Path, settings_hash: str | None = None, prompts_version: str | None = None,
    ) -> None:
        self.database = SQLiteDatabase(database) if isinstance(database, Path) else database
        self.versions = (settings_hash, prompts_version)
        self._texts: dict[str, str] = {}  # sha256 → source text, as read so far

    def record(self, answer: Answer, history_length: int, sources: dict[str, str]) -> int:
        with self.database.transaction() as db:
            row = db.execute(
                "INSERT INTO exchanges (time, question, history_length, answer, citations, refused, latency_ms,"
                " sources, error, settings_hash, prompts_version, unmentioned)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    time.strftime("%Y-%m-%d %H:%M:%S"), answer.question, history_length, answer.answer,
                    json.dumps([c.to_json() for c in answer.citations], ensure_ascii=False),
                    int(answer.refused), answer.latency_ms, json.dumps(sources), answer.error, *self.versions,
                    json.dumps(answer.unmentioned, ensure_ascii=False) if answer.unmentioned else None,
                ),
            ).fetchone()
        return int(row["id"])

    def remember_sources(self, sources: dict[str, str], texts: dict[str, str]) -> None:
        """Keeps each document's text under its sha256 ({doc id: sha256}, {doc id: text})."""
        with self.database.transaction() as db:
            db.executemany(
                "INSERT INTO sources (sha256, text) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING",
                [(sha, texts[doc]) for doc, sha in sources.items()],
            )

    def source_texts(self, exchange: Exchange) -> dict[str, str]:
        """{doc id: text} of the sources `exchange` was answered from, as far as known.
        A text never changes under its hash, so each is read from the database once."""
        missing = [sha for sha in exchange.sources.values() if sha not in self._texts]
        if missing:
            with self.database.transaction() as db:
                for sha in missing:
                    if row := db.execute("SELECT text FROM sources WHERE sha256 = ?", (sha,)).fetchone():
                        self._texts[sha] = row["text"]
        return {doc: self._texts[sha] for doc, sha in exchange.sources.items() if sha in self._texts}

    def set_feedback(self, exchange_id: int, liked: bool | None) -> None:
        value = None if liked is None else (1 if liked else -1)
        with self.database.transaction() as db:
            db.execute("UPDATE exchanges SET feedback = ? WHERE id = ?", (value, exchange_id))

    def get(self, exchange_id: int) -> Exchange | None:
        with self.database.transaction() as db:
            row = db.execute("SELECT * FROM exchanges WHERE id = ?", (exchange_id,)).fetchone()
        return _exchange(row) if row else None

    def recent(
        self, limit: int = 200, refused_only: bool = False, disliked_only: bool = False, text: str = "",
        unmentioned_only: bool = False,
    ) -> list[Exchange]:
        """Newest first, filtered (`unmentioned_only`: questions holding words no document uses)."""
        where, params = [], []
        if refused_only:
            where.append("refused = 1")
        if disliked_only:
            where.append("feedback = -1")
        if unmentioned_only:
            where.append("unmentioned IS NOT NULL")
        if text.strip():
            where.append("(question LIKE ? ESCAPE '\\' OR answer LIKE ? ESCAPE '\\')")
            pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [pattern, pattern]
        sql = "SELECT * FROM exchanges" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC LIMIT ?"
        with self.database.transaction() as db:
            rows = db.execute(sql, [*params, limit]).fetchall()
        return [_exchange(row) for row in rows]

    def unmentioned_words(self, limit: int = 1000) -> list[tuple[str, int]]:
        """The question words no document uses, most asked first, over the last `limit`
        questions that held any (answered or refused): topics residents ask about that the
        corpus does not cover."""
        with self.database.transaction() as db:  # the one column: no answers or citations parsed
            rows = db.execute("SELECT unmentioned FROM exchanges WHERE unmentioned IS NOT NULL ORDER BY id DESC"
                              " LIMIT ?", (limit,)).fetchall()
        return Counter(w for row in rows for w in json.loads(row["unmentioned"])).most_common()


def _exchange(row: dict) -> Exchange:
    return Exchange(**dict(
        row, citations=json.loads(row["citations"]), refused=bool(row["refused"]), sources=json.loads(row["sources"]),
        unmentioned=json.loads(row["unmentioned"]) if row["unmentioned"] else [],
    ))
