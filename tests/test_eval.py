"""The eval set itself, `nanhai-qa eval`, and the regression gate."""

import json
from collections import Counter

import pytest

from nanhai_qa.app.answering.models import parse_history
from nanhai_qa.eval.metrics import load_items, schema_problems
from nanhai_qa.eval.runner import evaluate
from nanhai_qa.eval.sets import (
    DEV_SET,
    EVAL_SET,
    FOLLOWUPS,
    HELDOUT,
    HELDOUT_SECOND,
    HELDOUT_THIRD,
    TRAIN_SET,
    UNCOVERED_TOPICS,
)

# Floors just under the results when they were set (see README, "Evaluation"); raise them as
# results improve, never lower one without saying why. They were lowered once, with the
# learned answer layer (issue 10): the earlier ones were met by rules fitted to this very set,
# which did far worse on questions written without looking at it (eval/heldout.jsonl), now
# gated too. Ceilings bound the false-refusal rate. Raised with the latent terms (README,
# "The answer scorer"): answer accuracy 0.947 / 0.870, refusal recall 0.645 / 0.654. Refusal
# recall lowered to 0.61 (one item each) when "mentioned but not explained" was kept to questions
# that ask little besides the term (README): 0.613 / 0.615, with false refusals 0.035 → 0.026
# on this set and 0.089 → 0.069 on DRCD; the false-refusal ceiling of this set lowered with it.
# With the networks that judge Chinese questions' answerability, reading the three best
# candidates (README, "The answer scorer"): held-out accuracy 0.870 → 0.889 and false refusals
# 0.056 (floor and ceiling follow); on this set false refusals 0.026 → 0.018, and accuracy
# 0.956 → 0.947, one item (a follow-up now judged answerable alone), so its floor 0.95 → 0.94.
# With training made reproducible (exact logistic fits, ten networks, a threshold counted
# smoothly and per dev set; README): held-out false refusals 0.056 → 0.037 (ceiling 0.06 →
# 0.05), accuracy 0.889 → 0.870, one item (the exact selection fit ranks the sentence that
# answers "村里集体的钱被人乱分乱花…" fourth), so its floor 0.88 → 0.87. With "mentioned but not
# explained" kept to questions asking a term's meaning or the members it counts (README): on
# this set accuracy 0.947 → 0.956 (floor 0.94 → 0.95), false refusals 0.018 → 0.009 (ceiling
# 0.03 → 0.02), refusal recall 0.613 → 0.581, one item ("“两高四新”外资项目是什么标准？": "what
# standard" is not a meaning request the rule reads), so its floor 0.61 → 0.58.
# With "在哪一年" no longer read as asking where (README, "What was tried"; decided on dev):
# held-out false refusals 0.037 → 0.056, one item, a false premise ("水上巴士是不是2022年就已经
# 开通了？") whose P(answerable) was already near the threshold (0.70 → 0.61, threshold 0.66),
# so that ceiling 0.05 → 0.06, where it stood before reproducible training.
# With the time slot mended too (a time the question names, or a year for a question asking the
# month or day, does not fill it): on this set accuracy 0.956 → 0.965 (floor 0.95 → 0.96), false
# refusals 0.009 → 0.000 (ceiling 0.02 → 0.01).
# With short quotations kept in their sentence and "哪一个月" / "哪几个" read rightly (scorer
# retrained, threshold 0.65): held-out refusal recall 0.654 → 0.692 (floor 0.65 → 0.69).
# The second held-out set (eval/heldout2.jsonl, written blind at the twenty-second reading) is
# gated at its first reading: accuracy 0.815, false refusals 0.056, refusal recall 0.654, hit@5 0.926.
# With follow-ups that name no topic word of their own read with the previous question, the
# setting's names (南海) left out of the lexical query, and the scorer retrained (threshold 0.64;
# README, "What was tried"; decided on dev and eval/followups.jsonl's train and dev parts), the
# twenty-third reading: on this set refusal recall 0.581 → 0.613 and hit@5 1.000 (floors 0.58 →
# 0.61, 0.97 → 0.99); held-out accuracy 0.870 → 0.889 (floor 0.87 → 0.88) and hit@5 0.963 (floor
# 0.96), but its refusal recall 0.692 → 0.654, one near miss answered, so that floor 0.69 → 0.65;
# the second held-out set accuracy 0.815 → 0.870, false refusals 0.056 → 0.037, hit@5 0.963
# (floor 0.81 → 0.86, ceiling 0.06 → 0.04, floor 0.92 → 0.96).
# With a year in a question asking whether (or which of two times) no longer limiting the
# passages that may answer it (scorer retrained, threshold 0.65; the twenty-fifth reading): on
# this set accuracy 0.965 → 0.982, citation recall 0.982, refusal recall 0.613 → 0.645 (floors
# 0.96 → 0.98, 0.95 → 0.98, 0.61 → 0.64); held-out accuracy 0.889 → 0.926, refusal recall 0.654
# → 0.692, false refusals 0.056 → 0.037 (floors 0.88 → 0.92, 0.65 → 0.69, ceiling 0.06 → 0.04).
# With questions asking the members of a group whose count the article gives without listing
# them refused, showing where it gives the count (the twenty-sixth reading): refusal recall
# held-out 0.692 → 0.731, the second held-out set 0.654 → 0.731 (floors 0.69 → 0.73, 0.65 → 0.73).
# With "好几" and Cantonese 边啲 / 边几 read rightly and the scorer retrained (the twenty-seventh and
# twenty-eighth readings): the second held-out set's refusal recall 0.769 (floor 0.73 → 0.76).
# The third held-out set (eval/heldout3.jsonl, written blind at the thirty-third round) is gated
# one item below its first reading (accuracy 0.900, false refusals 0.040, refusal recall 0.533,
# hit@5 1.000), as an index built on another machine may move one item. Its refusal-recall floor
# 0.50 → 0.46 at the thirty-third reading: the scorer retrained for follow-ups of follow-ups
# (README, "The answer scorer") moved one near miss across the threshold (P(answerable) 0.643 →
# 0.678, threshold 0.67 → 0.66), 0.533 → 0.500, the floor itself.
FLOORS = {
    EVAL_SET.name: {"hit@5": 0.99, "answer_accuracy": 0.98, "citation_recall": 0.98, "refusal_recall": 0.64,
                    "verbatim_rate": 1.0},
    HELDOUT.name: {"hit@5": 0.96, "answer_accuracy": 0.92, "refusal_recall": 0.73, "verbatim_rate": 1.0},
    HELDOUT_SECOND.name: {"hit@5": 0.96, "answer_accuracy": 0.86, "refusal_recall": 0.76, "verbatim_rate": 1.0},
    HELDOUT_THIRD.name: {"hit@5": 0.97, "answer_accuracy": 0.88, "refusal_recall": 0.46, "verbatim_rate": 1.0},
}
CEILINGS = {
    EVAL_SET.name: {"false_refusal_rate": 0.01},
    HELDOUT.name: {"false_refusal_rate": 0.04},
    HELDOUT_SECOND.name: {"false_refusal_rate": 0.04},
    HELDOUT_THIRD.name: {"false_refusal_rate": 0.06},
}


@pytest.fixture(scope="module")
def items():
    return load_items(EVAL_SET)


def test_every_item_follows_the_schema_and_quotes_the_source(items, article):
    assert len(items) >= 100
    assert len({i["id"] for i in items}) == len(items)
    problems = {i["id"]: p for i in items if (p := schema_problems(i, {article.id: article.text}))}
    assert problems == {}


def test_the_held_out_and_development_sets_follow_the_schema(article):
    """Written from the article alone by separate authors (README, "Evaluation"); the
    training questions too. eval/followups.jsonl holds follow-ups only."""
    ids = {i["id"] for i in load_items(EVAL_SET)}
    mixed = (HELDOUT, HELDOUT_SECOND, HELDOUT_THIRD, DEV_SET, TRAIN_SET)
    for path in (*mixed, FOLLOWUPS):
        extra = load_items(path)
        assert len(extra) >= 60 and not ids & {i["id"] for i in extra}
        ids |= {i["id"] for i in extra}
        assert {i["id"]: p for i in extra if (p := schema_problems(i, {article.id: article.text}))} == {}
        kinds = Counter(i["kind"] for i in extra)
        if path == FOLLOWUPS:
            assert set(kinds) == {"multi_turn"} and all(i["history"] for i in extra)
            assert sum(not i["answerable"] for i in extra) >= 10
        else:
            assert all(kinds[k] >= 5 for k in ("colloquial", "near_miss", "false_premise", "multi_turn"))


def test_the_set_covers_what_residents_ask(items, article):
    kinds = Counter(i["kind"] for i in items)
    assert kinds["multi_turn"] >= 15 and kinds["partial"] >= 5
    assert sum(not i["answerable"] for i in items) >= 15
    assert all(kinds[k] >= 5 for k in ("traditional", "cantonese", "english"))
    assert all(i["history"] for i in items if i["kind"] == "multi_turn")
    # every numbered section and subsection of the article holds some item's evidence
    evidence = [e for i in items for e in i["evidence"]]
    sections = {c.heading for c in article.chunks if c.kind == "bullet"}
    covered = {c.heading for c in article.chunks if any(e in c.text or c.text in e for e in evidence)}
    assert sections <= covered, sections - covered


@pytest.mark.parametrize("eval_set", [EVAL_SET, HELDOUT, HELDOUT_SECOND, HELDOUT_THIRD], ids=lambda p: p.name)
def test_regression_gate(engine, tmp_path, eval_set):
    report = evaluate(engine, eval_set, out=tmp_path, progress=False)
    figures_now = report["runs"][str(engine.mode)]
    below = {k: (figures_now[k], floor) for k, floor in FLOORS[eval_set.name].items() if figures_now[k] < floor}
    assert below == {}, f"figures below their floors (now, floor): {below}"
    above = {k: (figures_now[k], top) for k, top in CEILINGS[eval_set.name].items() if figures_now[k] > top}
    assert above == {}, f"figures above their ceilings (now, ceiling): {above}"
    assert {p.name for p in tmp_path.iterdir()} == {"report.md", "figures.json", "by_kind.png"}
    saved = json.loads((tmp_path / "figures.json").read_text(encoding="utf-8"))
    assert saved["runs"]["fused"]["hit@5"] == figures_now["hit@5"]
    assert "## Failures" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_eval_command_with_ablations(tmp_path, capsys, monkeypatch):
    from nanhai_qa.app.cli import main
    from tests.conftest import TEST_CACHE

    monkeypatch.setenv("NANHAI_QA_STORAGE__CACHE_DIR", str(TEST_CACHE))
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(EVAL_SET.read_text(encoding="utf-8").splitlines()[:12]) + "\n", encoding="utf-8")
    assert main(["eval", str(small), "--ablations", "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "| figure | bm25 | dense | fused |" in out and "hit@5" in out
    report = json.loads((tmp_path / "report" / "figures.json").read_text(encoding="utf-8"))
    assert set(report["runs"]) == {"bm25", "dense", "fused"} and report["runs"]["fused"]["items"] == 12
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "question": "?"}) + "\n", encoding="utf-8")
    assert main(["eval", str(bad)]) == 2
    assert "bad item" in capsys.readouterr().err


def test_the_uncovered_topic_questions_follow_the_schema(article):
    """Questions about topics the article never mentions (README, "A known failure"): a dev
    part that chose how rare a missing word must be to be named, a test part that measures it."""
    items = load_items(UNCOVERED_TOPICS)
    assert {i["id"]: p for i in items if (p := schema_problems(i, {article.id: article.text}))} == {}
    assert not any(i["answerable"] for i in items) and Counter(i["split"] for i in items) == {"dev": 12, "test": 16}
    assert len({i["id"] for i in items}) == len(items)


def test_the_llm_uses_bench_reads_what_the_engine_judged(engine):
    """eval/llm_uses.py shows the model what the engine's answer was chosen from: for a question
    asking for more, candidates without the sentences already said, not a second retrieval."""
    from nanhai_qa.eval.llm_uses import judged_answer

    first = engine.answer("今年乡村振兴有哪些打算？")
    history = [{"role": "user", "content": "今年乡村振兴有哪些打算？"}, {"role": "assistant", "content": first.answer}]
    found = judged_answer(engine, {"question": "还有吗？", "history": history})
    assert found is not None
    answer, query, judgement = found
    assert answer.answer == engine.answer("还有吗？", parse_history(history)).answer
    said = {c.quote for c in first.citations}
    judged = {s.candidate.sentence.text for s in judgement.ranked}
    assert said and judged and not said & judged
    # a fresh search for the same text would quote first what was said
    assert engine.retrieve(query.text).judgement.ranked[0].candidate.sentence.text in said
    assert judged_answer(engine, {"question": "南海2035年GDP是多少？", "history": []}) is None  # refused
