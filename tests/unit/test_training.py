"""`make train-scorer`'s choices on small hand-made inputs: fits that float noise between
machines does not move, and a refusal threshold that does not jump with one question."""

import numpy as np
import pytest

from nanhai_qa.app.answering.scorer import LinearModel, ScriptModel
from nanhai_qa.eval.train_scorer import (
    MAX_FALSE_REFUSALS,
    DevGroup,
    choose_thresholds,
    fit_logistic,
    perturbed,
    refusal_rates,
    standardisation,
)

MODEL = ScriptModel(LinearModel(np.zeros(1, np.float32), 0.0, np.zeros(1, np.float32), np.ones(1, np.float32)),
                    LinearModel(np.zeros(1, np.float32), 0.0, np.zeros(1, np.float32), np.ones(1, np.float32)))


def group(logit: float, answerable: bool) -> DevGroup:
    """A question with one candidate (the right one when answerable) and this answerability logit."""
    return DevGroup(np.zeros(1), np.array([float(answerable)]), np.array([40.0]), logit, answerable, False)


def dev_set(answerable_logits, unanswerable_logits) -> list[DevGroup]:
    return [group(z, True) for z in answerable_logits] + [group(z, False) for z in unanswerable_logits]


def test_a_constant_column_keeps_scale_one():
    X = np.array([[1.0, 0.5], [1.0, 1.5], [1.0, 2.5]], np.float32)
    mean, scale = standardisation(X)
    assert mean.tolist() == [1.0, 1.5] and scale[0] == 1.0 and scale[1] == pytest.approx(np.std([0.5, 1.5, 2.5]))


def test_perturbing_leaves_counts_and_flags_alone():
    features = np.array([[1.0, 0.0, 3.0, 0.8125], [2.0, 1.0, 0.0, -0.3]], np.float32)
    noisy = perturbed(features, 1e-3, np.random.default_rng(0))
    assert (noisy[:, :3] == features[:, :3]).all() and noisy[0, 2] == 3.0
    assert (noisy[:, 3] != features[:, 3]).all() and np.allclose(noisy, features, rtol=1e-2)


def test_the_logistic_fit_does_not_move_with_float_noise():
    """Three columns where one is the sum of the others (as q_t = filled_t + unfilled_t) and a
    constant one: the fit reaches the one optimum, so noise of 1e-7 leaves the weights alone
    and the constant column without weight."""
    rng = np.random.default_rng(0)
    n = 3000
    asked = rng.random(n) < 0.5
    filled = asked & (rng.random(n) < 0.5)
    cosine = rng.normal(size=n)
    X = np.column_stack([cosine, asked, filled, asked & ~filled, np.ones(n)]).astype(np.float32)
    y = (cosine + 2 * filled - asked + rng.logistic(size=n) > 0).astype(int)
    noisy = X.copy()
    noisy[:, 0] *= 1 + rng.normal(0, 1e-7, n).astype(np.float32)
    first, second = fit_logistic(X, y), fit_logistic(noisy, y)
    assert np.abs(first.weights - second.weights).max() < 1e-4
    assert first.weights[4] == 0.0 and first.weights[2] > 0 > first.weights[3]


def test_questions_near_the_threshold_count_as_refused_by_degree():
    answerable = dev_set([0.0], [])
    assert refusal_rates(answerable, MODEL, 0.5) == (pytest.approx(0.5), 1.0)  # P = 0.5: half refused
    assert refusal_rates(answerable, MODEL, 0.1)[0] < 0.001 and refusal_rates(answerable, MODEL, 0.9)[0] > 0.999
    unanswerable = dev_set([], [0.0])
    assert refusal_rates(unanswerable, MODEL, 0.5) == (0.0, pytest.approx(0.5))
    # smooth: a small step of the threshold moves the rate a little
    rates = [refusal_rates(answerable, MODEL, t)[0] for t in np.arange(0.3, 0.71, 0.01)]
    assert max(np.diff(rates)) < 0.05


def test_the_threshold_keeps_each_dev_set_within_its_false_refusals():
    rng = np.random.default_rng(1)
    easy = dev_set(rng.normal(6, 1, 200), rng.normal(-3, 1, 100))
    hard = dev_set(rng.normal(3, 1.5, 200), rng.normal(-1, 1.5, 100))
    refuse_below, _ = choose_thresholds({"easy": easy, "hard": hard}, MODEL)
    assert max(refusal_rates(g, MODEL, refuse_below)[0] for g in (easy, hard)) <= MAX_FALSE_REFUSALS
    assert refusal_rates(hard, MODEL, refuse_below + 0.02)[0] > MAX_FALSE_REFUSALS  # the hard set binds
    # moving every question a little moves the threshold a little, not to another plateau
    moved = {name: [group(g.group_logit + rng.normal(0, 0.05), g.answerable) for g in groups]
             for name, groups in (("easy", easy), ("hard", hard))}
    assert abs(choose_thresholds(moved, MODEL)[0] - refuse_below) <= 0.02


def test_with_no_threshold_feasible_it_refuses_as_little_as_it_can():
    hopeless = dev_set([-4.0] * 10, [-5.0] * 10)  # every answerable question looks unanswerable
    refuse_below, _ = choose_thresholds({"hopeless": hopeless}, MODEL)
    assert refuse_below == 0.02


def test_a_question_meets_its_paragraph_without_the_sentence_holding_its_answer():
    from dataclasses import replace

    from nanhai_qa.eval.mrc import MrcQuestion
    from nanhai_qa.eval.scorer_data import _without_sentence
    from nanhai_qa.index import Passage
    from nanhai_qa.ingest import Chunk, Span

    sentences = (Span(0, 3, "甲乙。"), Span(3, 6, "丙丁。"), Span(6, 9, "戊己。"))
    chunk = Chunk(id="d:0", doc="d", kind="paragraph", heading_path=(), period="intro", start=0, end=9,
                  text="甲乙。丙丁。戊己。", sentences=sentences)
    question = MrcQuestion("q", "哪个？", ("丙丁",), "d", 3, 5)
    dropped, index = _without_sentence(question, [Passage(chunk, 1.0, 0.9, 1.0)])
    assert index == 1 and dropped.id == chunk.id and dropped.text == "甲乙。戊己。"
    assert [s.text for s in dropped.sentences] == ["甲乙。", "戊己。"]
    alone = replace(chunk, text="丙丁。", sentences=(Span(3, 6, "丙丁。"),))
    assert _without_sentence(question, [Passage(alone, 1.0, 0.9, 1.0)]) is None  # nothing would be left
    assert _without_sentence(question, []) is None  # its paragraph not retrieved


def test_the_answer_is_taken_out_where_it_was_marked_not_where_its_text_first_occurs():
    from nanhai_qa.eval.mrc import MrcQuestion
    from nanhai_qa.eval.scorer_data import _without_answer, _without_sentence
    from nanhai_qa.index import Passage
    from nanhai_qa.ingest import Chunk, Span

    # the same sentence twice in one paragraph (a chunk starting at 10 in its document); the
    # answer is marked in the second
    first, middle = "那次会议在北京召开了三天。", "后来又开了一次。"
    text = first + middle + first
    ends = [10 + len(first), 10 + len(first + middle), 10 + len(text)]
    sentences = (Span(10, ends[0], first), Span(ends[0], ends[1], middle), Span(ends[1], ends[2], first))
    chunk = Chunk(id="d:1", doc="d", kind="paragraph", heading_path=(), period="intro", start=10, end=ends[2],
                  text=text, sentences=sentences)
    start = ends[1] + first.index("北京")
    question = MrcQuestion("q", "第二次会议在哪里召开？", ("北京",), "d", start, start + 2)
    passages = [Passage(chunk, 1.0, 0.9, 1.0)]
    dropped, index = _without_sentence(question, passages)
    assert index == 2 and dropped.text == first + middle
    cut, cut_sentence, index = _without_answer(question, passages)
    assert index == 2 and cut_sentence == "那次会议在召开了三天。"
    assert cut.text == first + middle + cut_sentence
