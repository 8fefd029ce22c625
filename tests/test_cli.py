"""The `nanhai-qa` command line, in-process (the real engine) and as the installed script."""

import json
import subprocess
import sys

import pytest

from nanhai_qa.app.cli import main
from tests.conftest import TEST_CACHE


@pytest.fixture(autouse=True)
def _cache(monkeypatch):
    monkeypatch.setenv("NANHAI_QA_STORAGE__CACHE_DIR", str(TEST_CACHE))


@pytest.mark.parametrize("command", [[], ["ingest"], ["index"], ["ask"], ["serve"], ["eval"]])
def test_every_command_has_help(command):
    out = subprocess.run(
        [sys.executable, "-m", "nanhai_qa", *command, "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "usage: nanhai-qa" in out
    assert "--help" in out or "options" in out


def test_ingest_lists_chunks(capsys):
    assert main(["ingest", "-v"]) == 0
    out = capsys.readouterr().out
    assert "nanhai-2023: “2023年 南海这么干!” — 68 chunks" in out
    assert "回顾2022年 › (三) 全力以赴推动高质量发展" in out


def test_index_prints_a_summary(capsys):
    assert main(["index"]) == 0
    out = capsys.readouterr().out
    assert "Index ready: 1 document(s), 0 file(s) skipped, 68 chunks" in out and "indexed nanhai-2023 (text," in out


def test_ask_readable_and_json(capsys):
    assert main(["ask", "2022年新认定了几家隐形冠军企业？"]) == 0
    out = capsys.readouterr().out
    assert "39家" in out and "[1]" in out and "来源：" in out
    assert main(["ask", "那今年呢？", "--json", "--history",
                 json.dumps([{"role": "user", "content": "去年大地艺术节办了吗？"},
                             {"role": "assistant", "content": "成功举办大地艺术节。"}])]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "持续举办大地艺术节" in data["answer"] and data["citations"][0]["period"] == "2023 plan"


def test_ask_rejects_bad_history(capsys):
    assert main(["ask", "你好", "--history", "[1, 2]"]) == 2
    assert "history" in capsys.readouterr().err


def test_batch_follows_the_schema_one_line_per_input(tmp_path, article):
    lines = [
        json.dumps({"id": "a", "question": "高企数量突破了多少家？"}, ensure_ascii=False),
        json.dumps({"id": "b", "question": "那医疗呢？", "history": [
            {"role": "user", "content": "2022年南海在教育上做了什么？"},
            {"role": "assistant", "content": "新增义务教育阶段学位超2万个。"}]}, ensure_ascii=False),
        json.dumps({"id": "c", "question": "南海区区长叫什么名字？"}, ensure_ascii=False),
        "this is not json",
        json.dumps({"id": "e", "question": ""}),
        json.dumps({"id": "f", "question": "x", "history": "not a list"}),
        json.dumps(["a", "list"]),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out" / "answers.jsonl"
    assert main(["ask", "--batch", str(source), "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(lines)
    assert [r.get("id") for r in records] == ["a", "b", "c", None, "e", "f", None]
    for record in records:
        assert {"answer", "refused", "citations", "retrieved", "latency_ms"} <= set(record)
    good, follow_up, refused = records[:3]
    assert "3600家" in good["answer"] and len(good["retrieved"]) >= 5 and good["latency_ms"] > 0
    for citation in good["citations"] + follow_up["citations"]:
        assert article.text[citation["start"] : citation["end"]] == citation["quote"]
    assert "人民医院" in follow_up["answer"]
    assert refused["refused"] and not refused["citations"]
    assert all("error" in r for r in records[3:]) and all("error" not in r for r in records[:3])


def test_batch_needs_out_and_a_readable_file(tmp_path, capsys):
    assert main(["ask", "--batch", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert main(["ask", "--batch", str(tmp_path / "missing.jsonl")]) == 2


def test_bad_corpus_and_settings_give_one_line(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe")
    assert main(["ingest", "--corpus", str(bad)]) == 2
    assert "UTF-8" in capsys.readouterr().err
    monkeypatch.setenv("NANHAI_QA_RETRIEVAL__FAISS_INDEX", "nope")
    assert main(["ingest"]) == 2
    assert "NANHAI_QA_RETRIEVAL__FAISS_INDEX" in capsys.readouterr().err


def test_a_scorer_file_that_does_not_fit_gives_one_line(tmp_path, capsys, monkeypatch):
    """A scorer trained on other features (or damaged) stops the command with one line that
    says to retrain it, not a traceback."""
    old = tmp_path / "scorer.json"
    old.write_text('{"features": ["cos_sentence"], "group_features": [], "models": {}}', encoding="utf-8")
    monkeypatch.setenv("NANHAI_QA_ANSWER__SCORER", str(old))
    assert main(["ask", "2022年新增了多少学位？"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the answer scorer") and "make train-scorer" in err and "Traceback" not in err
