"""The eval figures on hand-made results."""

import pytest

from nanhai_qa.eval.metrics import ItemResult, figures, generation_figures, keywords_present, percentile


def test_keyword_matching_folds_script_width_and_space():
    assert keywords_present("區人民醫院 新院全面開業", ["人民医院"])
    assert keywords_present("增长２３％以上", ["23%"])
    assert keywords_present("有轨电车1号线", ["2号线|1号线"])
    assert not keywords_present("有轨电车1号线", ["1号线", "3600家"])


def test_figures_on_hand_made_results():
    answerable = {"answerable": True, "kind": "number"}
    unanswerable = {"answerable": False, "kind": "out_of_scope"}
    results = [
        ItemResult(answerable, {"refused": False, "latency_ms": 10}, 1, True, True, 2, 2, 2),
        ItemResult(answerable, {"refused": False, "latency_ms": 30}, 3, False, False, 1, 0, 1),
        ItemResult(unanswerable, {"refused": True, "latency_ms": 20}, None, True, False, 0, 0, 0),
    ]
    f = figures(results)
    assert f["hit@1"] == 0.5 and f["hit@3"] == 1.0 and f["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert f["answer_accuracy"] == 0.5 and f["citation_recall"] == 0.5
    assert f["citation_precision"] == pytest.approx(2 / 3) and f["verbatim_rate"] == 1.0
    assert f["refusal_recall"] == 1.0 and f["false_refusal_rate"] == 0.0 and f["latency_p50_ms"] == 20


def test_generation_figures_count_only_what_the_model_wrote():
    item = {"answerable": True, "kind": "number"}

    def result(output: dict) -> ItemResult:
        return ItemResult(item, {"latency_ms": 100, "first_token_ms": 50, **output}, 1, True, True, 1, 1, 1)

    results = [
        result({"refused": False, "verified": [True, False], "first_token_ms": 400, "latency_ms": 900}),
        result({"refused": False, "verified": [False], "first_token_ms": 600, "latency_ms": 1100}),  # quotes shown
        result({"refused": False, "verified": [], "first_token_ms": 500, "latency_ms": 700}),  # the model refused
        result({"refused": True}),  # the scorer refused first: the model never wrote
    ]
    g = generation_figures(results)
    assert g["generated_items"] == 3
    assert g["unverified_share"] == pytest.approx(2 / 3)
    assert g["fallback_share"] == pytest.approx(2 / 3) and g["model_refusal_share"] == pytest.approx(1 / 3)
    assert g["first_token_p50_ms"] == 500 and g["latency_p50_ms"] == 900 and g["latency_p95_ms"] == 1100


def test_percentiles():
    assert percentile([], 0.5) is None
    assert percentile([3, 1, 2, 4], 0.5) == 2.5 and percentile(list(range(100)), 0.95) == 95
