"""The exchange log on SQLite and on a real PostgreSQL, and the staff desk's checks and exports
(no server needed)."""

import csv
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from nanhai_qa.app.staff.desk import check_mark, detail_html, export, rows, unmentioned_summary
from nanhai_qa.app.storage.database import SCHEMA_VERSION, DatabaseUnavailable, open_database
from nanhai_qa.app.storage.exchange_log import ExchangeLog


def test_log_records_filters_and_feedback(database_url, engine):
    log = ExchangeLog(open_database(database_url), "settings-1", "wordings-1")
    sources = dict(engine.retriever.corpus.manifest["sources"])
    answered = engine.answer("高企数量突破了多少家？")
    refused = engine.answer("南海2024年的重点工作有哪些？")  # a year the article does not cover
    sql_like = engine.answer("'; DROP TABLE exchanges; -- 100%_done")
    first = log.record(answered, 0, sources)
    second = log.record(refused, 2, sources)
    third = log.record(sql_like, 0, sources)
    log.set_feedback(second, liked=False)
    assert [e.id for e in log.recent()] == [third, second, first]  # newest first
    assert refused.refused and not answered.refused
    refusals = [i for i, a in ((third, sql_like), (second, refused)) if a.refused]
    assert [e.id for e in log.recent(refused_only=True)] == refusals
    assert [e.id for e in log.recent(disliked_only=True)] == [second]
    assert [e.id for e in log.recent(text="高企")] == [first]
    assert [e.id for e in log.recent(text="100%_")] == [third]  # LIKE wildcards are literal
    assert log.get(third).question == "'; DROP TABLE exchanges; -- 100%_done"  # stored verbatim
    assert log.get(first).citations[0]["quote"].endswith("3600家。")
    reopened = ExchangeLog(open_database(database_url)).get(second)  # reopened (migrations a no-op): still there
    assert reopened.feedback == -1 and reopened.settings_hash == "settings-1"


def test_the_words_no_document_uses_are_kept_and_counted(tmp_path, database_url, engine):
    """What residents ask about that the corpus does not cover, for staff adding documents."""
    log = ExchangeLog(open_database(database_url))
    sources = dict(engine.retriever.corpus.manifest["sources"])
    asked = ("南海今年在足球方面有什么打算？", "足球场今年会多建吗？", "足球这块今年有什么计划？")
    football = [log.record(engine.answer(q), 0, sources) for q in asked]
    plain = log.record(engine.answer("高企数量突破了多少家？"), 0, sources)
    price = engine.answer("南海现在房价多少钱一平？")
    assert price.refused  # a refused question's missing words count too: residents asked about them
    refused = log.record(price, 0, sources)
    assert log.get(football[0]).unmentioned == ["足球"] and log.get(plain).unmentioned == []
    assert [e.id for e in log.recent(unmentioned_only=True)] == [refused, *football[::-1]]
    assert log.unmentioned_words() == [("足球", 2), ("房价", 1), ("足球场", 1)]  # most asked first
    assert "足球 ×2、房价 ×1、足球场 ×1" in unmentioned_summary(log.unmentioned_words(), 1000)
    assert unmentioned_summary([], 1000) == "最近的问答没有问到文中没有的词。"
    csv_path, _ = export([log.get(football[0])], tmp_path / "exports")
    with open(csv_path, encoding="utf-8-sig") as f:
        assert list(csv.DictReader(f))[0]["unmentioned"] == "足球"


def test_citation_checks_and_exports(tmp_path, database_url, engine):
    log = ExchangeLog(open_database(database_url))
    corpus = engine.retriever.corpus
    documents = {d.id: d.text for d in corpus.documents.values()}
    sources = dict(corpus.manifest["sources"])
    answer = engine.answer("今年乡村振兴怎么做？")
    exchange = log.get(log.record(answer, 0, sources))
    assert check_mark(exchange, documents) == "✓ 4/4"
    tampered = replace(exchange, citations=[dict(exchange.citations[0], start=exchange.citations[0]["start"] + 1)])
    assert check_mark(tampered, documents) == "✗ 0/1"
    assert "✗" in detail_html(tampered, documents, sources)
    changed = {k: "0" * 64 for k in sources}
    assert "原文已改动" in detail_html(exchange, documents, changed)
    assert rows([exchange], lambda e: documents)[0][5] == "✓ 4/4"
    csv_path, jsonl_path = export([exchange], tmp_path / "exports")
    with open(csv_path, encoding="utf-8-sig") as f:
        assert list(csv.DictReader(f))[0]["question"] == "今年乡村振兴怎么做？"
    record = json.loads(Path(jsonl_path).read_text(encoding="utf-8").splitlines()[0])
    assert record["id"] == exchange.id and len(record["citations"]) == 4


def test_two_replicas_on_one_database_see_each_others_exchanges(postgres, engine):
    url = postgres.new_database()
    first, second = ExchangeLog(open_database(url)), ExchangeLog(open_database(url))  # one per replica
    sources = dict(engine.retriever.corpus.manifest["sources"])
    texts = {d.id: d.text for d in engine.retriever.corpus.documents.values()}
    for log in (first, second):
        log.remember_sources(sources, texts)  # both start: the text is kept once
    a = first.record(engine.answer("高企数量突破了多少家？"), 0, sources)
    b = second.record(engine.answer("今年乡村振兴怎么做？"), 0, sources)
    assert [e.id for e in first.recent()] == [e.id for e in second.recent()] == [b, a]
    second.set_feedback(a, liked=True)
    assert first.get(a).feedback == 1
    assert first.source_texts(second.get(b)) == texts


def test_an_old_sqlite_log_is_migrated_and_a_newer_one_refused(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # as written before versioned schemas
        db.execute("CREATE TABLE exchanges (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, question TEXT"
                   " NOT NULL, history_length INTEGER NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL, refused"
                   " INTEGER NOT NULL, latency_ms REAL NOT NULL, feedback INTEGER, sources TEXT NOT NULL, error TEXT)")
        db.execute("CREATE TABLE sources (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL)")
        db.execute("INSERT INTO exchanges (time, question, history_length, answer, citations, refused, latency_ms,"
                   " sources) VALUES ('2026-01-01 00:00:00', '旧问题', 0, '旧回答', '[]', 0, 1.0, '{}')")
    log = ExchangeLog(open_database(f"sqlite://{path}"))
    old = log.recent()[0]
    assert old.question == "旧问题" and old.settings_hash is None and old.unmentioned == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(DatabaseUnavailable, match="newer than this code"):
        open_database(f"sqlite://{path}")


def test_an_unreachable_or_unknown_database_is_one_line(tmp_path):
    with pytest.raises(DatabaseUnavailable, match=r"cannot use the database postgresql://u:\*\*\*@127.0.0.1:9/x"):
        from nanhai_qa.app.storage.database import PostgresDatabase

        PostgresDatabase("postgresql://u:secret@127.0.0.1:9/x", timeout=2)
    with pytest.raises(DatabaseUnavailable, match="must start with sqlite:/// or postgresql://"):
        open_database("mysql://somewhere")
