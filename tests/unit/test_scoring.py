"""The answer layer's logic on small hand-made inputs (no model): question types, the
scorer's arithmetic, the selection policy, adjacent quotes, the weights file."""

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from nanhai_qa.app.answering.extractive import AnswerStyle, SelectionPolicy, compose, join_adjacent
from nanhai_qa.app.answering.scorer import (
    FEATURES,
    GROUP_FEATURES,
    AnswerScorer,
    Candidate,
    CandidateFeatures,
    LinearModel,
    MLPModel,
    ScorerFileError,
    ScriptModel,
    _local_weights,
    _longest_match,
    group_features,
    load_scorer,
    question_types,
    script_of,
)
from nanhai_qa.app.prompts import ENGLISH
from nanhai_qa.index import Passage
from nanhai_qa.ingest import Chunk, Span


def _chunk(text: str, start: int = 0, doc: str = "d", period: str = "intro") -> Chunk:
    sentences, position = [], start
    for piece in text.split("|"):
        sentences.append(Span(position, position + len(piece), piece))
        position += len(piece)
    return Chunk(id=f"{doc}:{start}", doc=doc, kind="paragraph", heading_path=(), period=period, start=start,
                 end=position, text=text.replace("|", ""), sentences=tuple(sentences))


def _candidates(*chunks: Chunk) -> list[Candidate]:
    return [Candidate(Passage(c, 1.0, 0.9, 1.0), rank, i, s)
            for rank, c in enumerate(chunks) for i, s in enumerate(c.sentences)]


def _model(selection_weights: np.ndarray | None = None, bias: float = 0.0, **thresholds) -> ScriptModel:
    n, g = len(FEATURES), len(GROUP_FEATURES)
    selection = LinearModel(selection_weights if selection_weights is not None else np.zeros(n, np.float32), 0.0,
                            np.zeros(n, np.float32), np.ones(n, np.float32))
    answerability = LinearModel(np.zeros(g, np.float32), bias, np.zeros(g, np.float32), np.ones(g, np.float32))
    return ScriptModel(selection, answerability, **thresholds)


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("2022年新增了多少学位？", {"number"}),
        ("门票要多少钱？", {"number", "money"}),
        ("水上巴士哪天开通？", {"time"}),
        ("区长是谁？", {"person"}),
        ("新院的地址在哪里？", {"place"}),
        ("大地艺术节在哪一个镇街举办？", {"place"}),
        ("新院在哪一年开业？", {"time"}),  # "在哪" of a year asks when
        ("艺术节在哪一个月开幕？", {"time"}),
        ("新开了哪几个公园？", {"list"}),  # which ones, not how many
        ("新开了几个公园？", {"number", "list"}),
        ("今年乡村振兴有哪些措施？", {"list"}),
        ("有轨电车开通了吗？", {"yesno"}),
        ("how many school places were added?", {"number"}),
        ("为什么要整治土地", {"reason"}),
    ],
)
def test_question_types(question, kinds):
    assert {k for k, v in question_types(question).items() if v} == kinds


def test_a_time_slot_holds_a_time_the_question_does_not_name():
    # no tagger: names play no part here
    slots = CandidateFeatures(SimpleNamespace(corpus=SimpleNamespace(chunks=[]), tokenizer=None)).slots
    heading = "2023年的计划"
    assert slots("持续举办大地艺术节。", heading, "大地艺术节什么时候办?", set())["time"]  # the heading dates it
    assert not slots("持续举办大地艺术节。", heading, "2023年大地艺术节什么时候办?", set())["time"]  # named already
    assert not slots("持续举办大地艺术节。", heading, "大地艺术节哪个月办?", set())["time"]  # a year is no month
    assert slots("大地艺术节于10月开幕。", heading, "大地艺术节哪个月办?", set())["time"]


def test_script_decides_the_model():
    assert script_of("高企有多少家") == "chinese" and script_of("how many firms") == "other"
    assert script_of("2022") == "other"  # nothing Chinese to match word for word


def test_longest_match_and_local_weights():
    assert _longest_match("罗保铭毕业于哪所大学", "他毕业于南开大学") == 3  # 毕业于
    assert _longest_match("", "任何") == 0 and _longest_match("甲乙", "丙丁") == 0
    weights = _local_weights({"罗保铭": 1.0, "毕业": 1.0}, ["罗保铭生于天津", "罗保铭毕业于南开", "罗保铭任职"])
    assert weights["毕业"] > weights["罗保铭"]  # a word in one sentence tells them apart more than the subject


def test_judge_shares_probability_by_selection_logits():
    candidates = _candidates(_chunk("一句。|二句。|三句。"))
    features = np.zeros((3, len(FEATURES)), np.float32)
    column = FEATURES.index("cos_sentence")
    features[:, column] = [0.1, 0.9, 0.5]
    weights = np.zeros(len(FEATURES), np.float32)
    weights[column] = 5.0
    judgement = _model(weights, bias=2.0, refuse_below=0.3, keep_share=0.1).judge(features, candidates)
    assert judgement.answerable == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert [s.candidate.sentence.text for s in judgement.ranked] == ["二句。", "三句。", "一句。"]
    assert sum(s.probability for s in judgement.ranked) == pytest.approx(judgement.answerable)
    assert (judgement.refuse_below, judgement.keep_share) == (0.3, 0.1)
    assert _model().judge(np.zeros((0, len(FEATURES))), []).answerable == 0.0


def test_group_features_read_the_best_candidate():
    features = np.zeros((2, len(FEATURES)), np.float32)
    features[1, FEATURES.index("cos_sentence")] = 0.8
    row = group_features(features, np.array([0.0, 1.0]))
    assert len(row) == len(GROUP_FEATURES)
    assert row[GROUP_FEATURES.index("best_logit")] == 1.0 and row[GROUP_FEATURES.index("logit_margin")] == 1.0
    assert row[GROUP_FEATURES.index("best_cos_sentence")] == pytest.approx(0.8)


def _judged(probabilities: list[float], chunk: Chunk, keep_share: float = 0.3):
    from nanhai_qa.app.answering.scorer import Judgement, ScoredCandidate

    candidates = _candidates(chunk)
    ranked = sorted(zip(candidates, probabilities, strict=True), key=lambda t: -t[1])
    return Judgement(max(probabilities), [ScoredCandidate(c, p) for c, p in ranked], 0.5, keep_share)


def _quoted(policy: SelectionPolicy, probabilities: list[float], chunk: Chunk, question: str = "x") -> list[str]:
    """The texts of the sentences `policy` quotes when the scorer gives `chunk`'s sentences `probabilities`."""
    return [s.text for _, s in policy.select(_judged(probabilities, chunk), question)]


def test_selection_keeps_close_sentences_in_reading_order():
    chunk = _chunk("甲。|乙。|丙。|丁。")
    quotes = SelectionPolicy().select(_judged([0.1, 0.6, 0.02, 0.3], chunk), "甲是什么")
    assert [s.text for _, s in quotes] == ["乙。", "丁。"]  # 0.3 ≥ 0.3 × 0.6; 0.1 and 0.02 are not
    assert len(SelectionPolicy(keep_share=0.0, max_sentences=2).select(_judged([.4, .3, .2, .1], chunk), "x")) == 2
    listing = SelectionPolicy(keep_share=0.0, max_sentences=2, max_list_sentences=4)
    assert len(listing.select(_judged([.4, .3, .2, .1], chunk), "有哪些")) == 4


def test_a_sentence_that_points_back_brings_the_one_before_it():
    chunk = _chunk("甲厂造了新船。|这艘船长三百米。|乙厂造了桥。")
    policy = SelectionPolicy(keep_share=0.5)
    assert _quoted(policy, [0.1, 0.9, 0.2], chunk, "哪个厂造的船长三百米") == ["甲厂造了新船。", "这艘船长三百米。"]
    alone = SelectionPolicy(keep_share=0.5, quote_context=False).select(_judged([0.1, 0.9, 0.2], chunk), "x")
    assert [s.text for _, s in alone] == ["这艘船长三百米。"]
    assert _quoted(policy, [0.1, 0.2, 0.9], chunk) == ["乙厂造了桥。"]
    later = _chunk("镍在室温时氧化缓慢。|历史上，因为这一点镍被用作电镀。")  # a pointer in its first words
    assert _quoted(policy, [0.1, 0.9], later) == [
        "镍在室温时氧化缓慢。", "历史上，因为这一点镍被用作电镀。"]


def test_a_sentence_that_points_back_to_a_kept_one_is_quoted_after_it():
    chunk = _chunk("甲公司签了一份合约。|这份合约的时间为7年。|此外，乙公司也签了约。|其他公司没有签。")
    policy = SelectionPolicy(keep_share=0.5)
    contract = ["甲公司签了一份合约。", "这份合约的时间为7年。"]
    assert _quoted(policy, [0.9, 0.1, 0.1, 0.1], chunk, "甲公司签了多少年的合约") == contract
    # "此外" opens a new point: the sentence after the contract's term is not brought
    assert _quoted(policy, [0.1, 0.9, 0.1, 0.1], chunk) == contract  # it points back itself
    for unrelated in ("乙厂造了桥。", "其他公司没有签。"):  # "其他" points to no one
        alone = _chunk(f"甲厂造了新船。|{unrelated}")
        assert _quoted(policy, [0.9, 0.1], alone) == ["甲厂造了新船。"]
        assert _quoted(policy, [0.1, 0.9], alone) == [unrelated]
    among = _chunk("甲厂造了三艘船。|其中一艘长三百米。")  # "其中" does point back
    for best_first in ([0.9, 0.1], [0.1, 0.9]):
        quoted = _quoted(policy, best_first, among)
        assert quoted == ["甲厂造了三艘船。", "其中一艘长三百米。"]


def test_should_and_a_comma_s_among_point_to_no_earlier_sentence():
    policy = SelectionPolicy(keep_share=0.5)
    for own in ("王猛告诫苻坚应该先整合国内。", "今年引进企业42家，其中高新技术企业11家。"):
        chunk = _chunk(f"甲厂造了新船。|{own}")
        assert _quoted(policy, [0.1, 0.9], chunk) == [own]
        assert _quoted(policy, [0.9, 0.1], chunk) == ["甲厂造了新船。"]
    opening = _chunk("甲厂造了三艘船。|其中，一艘长三百米。")  # "其中" opening a sentence still points back
    assert len(policy.select(_judged([0.1, 0.9], opening), "x")) == 2


def test_a_clause_after_a_semicolon_brings_the_clause_before_it():
    chunk = _chunk("最后进入神学研究阶段，接着是考试；|考试通过者成为正式会员。|后来分派职务。")
    policy = SelectionPolicy(keep_share=0.5)
    assert _quoted(policy, [0.1, 0.9, 0.1], chunk, "成为正式会员之前的最后阶段是什么") == [
        "最后进入神学研究阶段，接着是考试；", "考试通过者成为正式会员。"]
    assert _quoted(policy, [0.1, 0.1, 0.9], chunk) == ["后来分派职务。"]


def test_a_date_without_its_year_brings_the_sentence_naming_the_year():
    chunk = _chunk("1959年大会召开。|会上讨论了预算。|4月，甲当选主席。")
    policy = SelectionPolicy(keep_share=0.5)
    assert _quoted(policy, [0.1, 0.1, 0.9], chunk, "甲在哪一年当选主席") == ["1959年大会召开。", "4月，甲当选主席。"]
    assert _quoted(policy, [0.1, 0.1, 0.9], chunk, "甲当选了什么") == ["4月，甲当选主席。"]


def test_adjacent_sentences_of_one_chunk_become_one_quote():
    chunk = _chunk("甲。|乙。|丙。")
    a, b, c = chunk.sentences
    joined = join_adjacent([(chunk, a), (chunk, b)])
    assert [(s.start, s.end, s.text) for _, s in joined] == [(0, 4, "甲。乙。")]
    apart = join_adjacent([(chunk, a), (chunk, c)])  # 乙 stands between: two quotes
    assert [s.text for _, s in apart] == ["甲。", "丙。"]


def test_quotes_are_laid_out_under_their_period():
    review = _chunk("启动计划。", 0, period="2022 review")
    plan = _chunk("推进计划。|启动巴士。", 10, period="2023 plan")
    quotes = [(review, review.sentences[0]), (plan, plan.sentences[0]), (plan, plan.sentences[1])]
    draft = compose(quotes, "引言", AnswerStyle(dated=frozenset({review.doc})))
    assert draft.text.splitlines() == [
        "引言", "2022年已完成（回顾部分）：", "启动计划。[1]", "2023年的计划（部署部分）：", "推进计划。启动巴士。[2]",
    ]
    assert [(c.start, c.end, c.period) for c in draft.citations] == [(0, 5, "2022 review"), (10, 20, "2023 plan")]
    # A document without dated parts gets no period labels; with several documents each line names its own.
    plain = compose(quotes, style=AnswerStyle(titles={review.doc: "报告"}))
    assert plain.text.splitlines() == ["启动计划。[1]（《报告》）", "推进计划。启动巴士。[2]（《报告》）"]
    assert plain.citations[0].title == "报告"
    style = AnswerStyle(script=ENGLISH, titles={review.doc: "Report"}, dated=frozenset({review.doc}))
    english = compose(quotes, style=style)
    assert english.text.splitlines()[:2] == ["Done in 2022 (review):", "启动计划。[1] (Report)"]


def test_weights_file_round_trip_and_clear_errors(tmp_path):
    scorer = AnswerScorer({"chinese": _model(bias=1.0), "other": _model(bias=-1.0)}, {"seed": 0})
    path = tmp_path / "scorer.json"
    path.write_text(json.dumps(scorer.to_json()), encoding="utf-8")
    loaded = load_scorer(path)
    assert loaded.models["chinese"].answerability.bias == 1.0 and loaded.meta == {"seed": 0}
    with pytest.raises(ScorerFileError, match="cannot read"):
        load_scorer(tmp_path / "missing.json")
    stale = scorer.to_json() | {"features": ["something else"]}
    path.write_text(json.dumps(stale), encoding="utf-8")
    with pytest.raises(ScorerFileError, match="retrain"):
        load_scorer(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScorerFileError):
        load_scorer(path)


def test_a_network_answerability_model_computes_by_hand_and_round_trips(tmp_path):
    """Two members, two inputs, two hidden units: the mean of relu(z·W1 + b1)·w2 + b2 over the
    members, on inputs standardised by mean and scale; saved and loaded, the same logits."""
    one = (np.array([[1.0, -1.0], [0.0, 2.0]], np.float32), np.array([0.0, 0.5], np.float32),
           np.array([1.0, 1.0], np.float32), 0.0)
    two = (np.eye(2, dtype=np.float32), np.zeros(2, np.float32), np.array([-1.0, 0.0], np.float32), 1.0)
    network = MLPModel([one, two], mean=np.array([1.0, 0.0], np.float32), scale=np.array([2.0, 1.0], np.float32))
    x = np.array([[3.0, 1.0]], np.float32)  # standardised: (1, 1)
    # one: hidden relu((1, -1 + 2 + 0.5)) = (1, 1.5) → 2.5; two: hidden (1, 1) → -1 + 1 = 0
    assert network.logits(x) == pytest.approx([1.25])
    model = replace(_model(), answerability=network)
    scorer = AnswerScorer({"chinese": model, "other": _model()})
    path = tmp_path / "scorer.json"
    path.write_text(json.dumps(scorer.to_json()), encoding="utf-8")
    loaded = load_scorer(path).models["chinese"].answerability
    assert isinstance(loaded, MLPModel) and loaded.logits(x) == pytest.approx([1.25])
    assert isinstance(load_scorer(path).models["other"].answerability, LinearModel)


def test_the_committed_scorer_loads_and_says_how_it_was_made():
    scorer = load_scorer()
    assert set(scorer.models) == {"chinese", "other"}
    for model in scorer.models.values():
        assert 0 < model.refuse_below < 1 and 0 < model.keep_share <= 1 and model.temperature > 0
    assert scorer.meta["seed"] == 0 and "dev" in scorer.meta

