"""The SQLite exchange log and the staff desk's checks and exports (no server needed)."""

import csv
import json
from dataclasses import replace
from pathlib import Path

from nanhai_qa.app.staff.desk import check_mark, detail_html, export, rows
from nanhai_qa.app.storage.exchange_log import ExchangeLog


def test_log_records_filters_and_feedback(tmp_path, engine):
    log = ExchangeLog(tmp_path / "log.sqlite3")
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
    assert ExchangeLog(tmp_path / "log.sqlite3").get(second).feedback == -1  # reopened: still there


def test_citation_checks_and_exports(tmp_path, engine):
    log = ExchangeLog(tmp_path / "log.sqlite3")
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
