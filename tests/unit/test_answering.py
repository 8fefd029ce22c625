"""The answering path on a small hand-made corpus with a hashing embedder (tests/fakes.py) and
the committed answer scorer: structure, fusion, the refusal decisions, the service layer that
the chat page and the staff desk share, and the page's HTML. No model, no server."""

from __future__ import annotations

import csv
import math

import pytest

from nanhai_qa.app.answering.engine import AnswerEngine, asked_term, defines, shared_around
from nanhai_qa.app.answering.models import Message
from nanhai_qa.app.answering.scorer import load_scorer, question_types
from nanhai_qa.app.profile import CorpusProfile
from nanhai_qa.app.prompts import render
from nanhai_qa.app.ratelimit import RateLimiter
from nanhai_qa.app.service import ChatService, Conversation
from nanhai_qa.app.staff.desk import detail_html, export
from nanhai_qa.app.storage.exchange_log import ExchangeLog
from nanhai_qa.app.web.render import answer_html, documents_html, sources_html
from nanhai_qa.index import RetrievalMode, RetrievalWeights, Retriever, build_index, fold
from nanhai_qa.ingest import read_document
from nanhai_qa.ingest.structure import chunk_document, heading_level, period_of, split_sentences
from tests.fakes import HashingEmbedder

TOWN = """# 河湾镇工作报告

回顾1999年

(一) 教育

1. 学校建设
全年新建小学3所，新增学位1200个。

(二) 交通

1. 道路
新修乡村公路45公里。镇里开通了两条公交线路。

奋进2000年

(一) 教育

1. 学校建设
计划新建中学1所，新增学位800个。

(二) 环境

1. 河道
推进“清河行动”，整治河道12条。
"""


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    path = tmp_path_factory.mktemp("town") / "town.md"
    path.write_text(TOWN, encoding="utf-8")
    return read_document(path)


@pytest.fixture(scope="module")
def retriever(town) -> Retriever:
    embedder = HashingEmbedder()
    return Retriever(build_index([town], embedder), embedder)


def engine_of(retriever: Retriever, **options) -> AnswerEngine:
    profile = CorpusProfile(relative_years={"2000": ["今年"], "1999": ["去年"]})
    return AnswerEngine(retriever, load_scorer(), profile=profile, **options)


# Structure, on short strings.

@pytest.mark.parametrize(("line", "level"), [
    ("## 回顾1999年", 2), ("回顾1999年", 1), ("(一) 教育", 2), ("（二）交通", 2), ("1. 学校建设", 3),
    ("1. 全年新建小学3所，新增学位1200个。", None), ("新修乡村公路45公里。", None),
])
def test_heading_levels(line, level):
    assert heading_level(line) == level


def test_periods_and_sentences():
    assert [period_of(h) for h in ("回顾1999年", "奋进2000年", "2000年", "开头")] == [
        "1999 review", "2000 plan", "2000", "intro"]
    text = "新修公路45公里。开通“两条（含夜班）线路！”剩下的"
    assert [text[s.start : s.end] for s in split_sentences(text, 0, len(text))] == [
        "新修公路45公里。", "开通“两条（含夜班）线路！”", "剩下的"]


def test_punctuation_inside_brackets_ends_no_sentence():
    text = "京急逗子线（；）通车。新站（一期。二期）开工。未闭合（甲。乙。"
    assert [text[s.start : s.end] for s in split_sentences(text, 0, len(text))] == [
        "京急逗子线（；）通车。", "新站（一期。二期）开工。", "未闭合（甲。", "乙。"]


def test_a_short_quotation_stays_in_its_sentence():
    text = "词典解释为：“一个人迅速致富。通常缺乏礼仪。”这是贬义词。他说：「好。」然后走了。"
    assert [text[s.start : s.end] for s in split_sentences(text, 0, len(text))] == [
        "词典解释为：“一个人迅速致富。通常缺乏礼仪。”", "这是贬义词。", "他说：「好。」", "然后走了。"]
    speech = "他说：“" + "我们要做好这件事情。" * 12 + "”"  # a quoted speech splits into its sentences
    assert len(split_sentences(speech, 0, len(speech))) == 12
    unclosed = "他说：“好。然后走了。"
    assert len(split_sentences(unclosed, 0, len(unclosed))) == 2


def test_chunks_carry_heading_paths_periods_and_exact_offsets(town):
    title, chunks = chunk_document("town", TOWN)
    assert title == "河湾镇工作报告"
    roads = next(c for c in chunks if "公路" in c.text)
    assert roads.heading_path == ("回顾1999年", "(二) 交通", "1. 道路") and roads.period == "1999 review"
    assert all(TOWN[c.start : c.end] == c.text for c in chunks)
    assert all(TOWN[s.start : s.end] == s.text for c in chunks for s in c.sentences)


# Fusion.

def test_each_mode_ranks_and_a_named_year_comes_first(retriever):
    query = retriever.prepare("新增学位多少个")
    for mode in RetrievalMode:
        passages = retriever.search(query, k=3, mode=mode)
        assert "学位" in passages[0].chunk.text, mode
    plain = {p.chunk.id: p.score for p in retriever.search(query, k=4)}
    dated = {p.chunk.id: p.score for p in retriever.search(query, k=4, period="2000")}
    lifted = {c.id for c in retriever.corpus.chunks if c.period == "2000 plan"}
    assert all(dated[i] > plain[i] for i in lifted) and all(dated[i] == plain[i] for i in set(plain) - lifted)
    strict = Retriever(retriever.corpus, retriever.embedder, weights=RetrievalWeights(period_boost=1.0))
    assert {p.chunk.period for p in strict.search(query, k=2, period="2000")} == {"2000 plan"}
    with pytest.raises(ValueError, match="unknown retrieval mode 'sideways'; choose one of fused, dense, bm25"):
        retriever.search(query, mode="sideways")


def test_fusion_weights_are_knobs(town):
    embedder = HashingEmbedder()
    corpus = build_index([town], embedder)
    query_text = "河道整治"
    lexical_only = Retriever(corpus, embedder, weights=RetrievalWeights(rrf_k=3.0, lexical=1000.0))
    dense_only = Retriever(corpus, embedder, weights=RetrievalWeights(rrf_k=3.0, lexical=0.0))
    fused_lexical = [p.chunk.id for p in lexical_only.search(lexical_only.prepare(query_text), k=5)]
    bm25 = [p.chunk.id for p in lexical_only.search(lexical_only.prepare(query_text), k=5, mode="bm25")]
    fused_dense = [p.chunk.id for p in dense_only.search(dense_only.prepare(query_text), k=5)]
    dense = [p.chunk.id for p in dense_only.search(dense_only.prepare(query_text), k=5, mode="dense")]
    hits = [i for i in bm25 if lexical_only.bm25.scores(list(lexical_only.prepare(query_text).words)).any()]
    assert fused_lexical[: len(hits[:1])] == bm25[:1] and fused_dense == dense


# Refusal and answering decisions.

def test_the_threshold_decides_refusal(retriever):
    question = "去年新修了多少公里乡村公路？"
    never = engine_of(retriever, refuse_below=0.0).answer(question)
    assert not never.refused and "45公里" in never.answer
    assert never.citations[0].quote in TOWN
    always = engine_of(retriever, refuse_below=1.01).answer(question)
    assert always.refused and always.answer.startswith(render("refusal"))
    assert "“" in always.answer  # the closest topics the corpus covers are offered


def test_a_year_no_document_covers_is_refused_whatever_the_threshold(retriever):
    answer = engine_of(retriever, refuse_below=0.0).answer("1985年新修了多少公里公路？")
    assert answer.refused


def test_a_term_mentioned_but_not_explained_says_where_it_appears(retriever):
    answer = engine_of(retriever, refuse_below=0.0).answer("“清河行动”是什么意思？")
    assert answer.refused and "清河行动" in answer.answer and answer.citations


@pytest.mark.parametrize(
    ("question", "count"),
    [
        ("新修了多少公里公路？", True),
        ("今年要新建几所中学", True),
        ("有哪几个镇开通了公交？", False),  # which ones
        ("好几次获奖的学校叫什么名字？", False),  # 好几: "several"
        (fold("今年重点搞的平台有边几个"), False),  # Cantonese 边几 folds to 哪几
    ],
)
def test_which_questions_ask_a_count(question, count):
    assert question_types(question)["number"] is count


def test_a_tokenizer_without_tags_names_no_topic_words(town):
    """Topic words need part-of-speech tags (JiebaTokenizer's); an engine over a tokenizer
    without them answers all the same, naming no missing words."""
    embedder = HashingEmbedder()
    by_character = Retriever(
        build_index([town], embedder), embedder, tokenizer=lambda text: [c for c in text if c.strip()]
    )
    engine = engine_of(by_character, refuse_below=0.0)
    assert engine.unmentioned is None
    answer = engine.answer("新修了多少公里公路？")
    assert not answer.refused and "45公里" in answer.answer


def test_cantonese_question_words_fold_to_mandarin():
    assert fold("边啲企业？") == "哪些企业?" and fold("系边几个") == "是哪几个"


@pytest.mark.parametrize(
    ("question", "applies"),
    [
        ("镇里开通的两条公交线路分别是哪两条？", True),  # the count is there, its members are not
        ("整治的12条河道都是哪些？", True),
        ("镇里开通了几条公交线路？", False),  # asks the count, not the members
        ("五条公交线路是哪些？", False),  # a count the corpus does not give
        ("2条公交线路是哪些？", False),  # "2条" is not "12条", nor "两条"
    ],
)
def test_members_of_a_counted_group_the_corpus_does_not_list(retriever, question, applies):
    """Where the rule does not apply the scorer decides (here told to answer)."""
    answer = engine_of(retriever, refuse_below=0.0).answer(question)
    if not applies:
        assert not answer.refused and "没有列出" not in answer.answer
    else:
        assert answer.refused and "但没有列出具体是哪些" in answer.answer
        assert answer.citations and answer.citations[0].quote in TOWN


@pytest.mark.parametrize(
    ("term", "sentence", "defined"),
    [
        ("五个不发生", "“五个不发生”是指不发生重大事故……", True),
        ("一轴", "“一轴”为南北贯穿整个旅游区的浣江风景带", True),  # a copula right after the term
        ("六片", "“六片”指主入口管理区、古越文化区", True),
        ("三走", "深入开展“三走”工作。", False),
        ("三个一", "推进素质教育“三个一”行动，目标是全覆盖。", False),  # 是 far from the term
    ],
)
def test_a_sentence_defines_a_term_it_binds_to_a_definition(term, sentence, defined):
    assert defines(term, sentence) is defined


def test_a_follow_up_takes_its_topic_from_the_history(retriever):
    engine = engine_of(retriever, refuse_below=0.0)
    history = [Message(role="user", content="今年计划新增多少学位？"), Message(role="assistant", content="800个")]
    answer = engine.answer("那去年呢？", history)
    assert "1200个" in answer.answer and answer.query != "那去年呢？"


def test_per_call_variants_do_not_change_the_engine(retriever):
    engine = engine_of(retriever, refuse_below=0.0)
    answer = engine.answer("新增学位多少个", mode=RetrievalMode.BM25)
    assert answer.citations and engine.mode == RetrievalMode.FUSED


# The service layer and the page's HTML.

def test_the_service_logs_answers_with_versions_and_feedback(retriever, tmp_path):
    log = ExchangeLog(tmp_path / "log.sqlite3", settings_hash="abc123", prompts_version="p1")
    service = ChatService(engine_of(retriever, refuse_below=0.0), log, RateLimiter(per_minute=60, burst=1))
    reply = service.ask_json("去年新修了多少公里乡村公路？", [], client="10.0.0.1")
    assert "45公里" in reply["answer"]
    assert service.too_fast("10.0.0.1", "再问一次") == render("error_rate_limited", seconds=1)
    assert service.ask_json("问", "not a list", client="10.0.0.2")["error"]
    exchange = log.recent(limit=1)[0]
    assert (exchange.settings_hash, exchange.prompts_version) == ("abc123", "p1")
    csv_path, _ = export([exchange], tmp_path / "exports")  # staff see and export them
    with open(csv_path, encoding="utf-8-sig") as f:
        assert next(csv.DictReader(f))["settings_hash"] == "abc123"
    assert "设置 abc123" in detail_html(exchange, service.texts_of(exchange), service.sources)

    conversation = Conversation()
    answer, number = service.answer("今年计划新增多少学位？", conversation.history)
    conversation.add(answer, number, message_index=1)
    assert [m.role for m in conversation.history] == ["user", "assistant"]
    assert conversation.latest_document() == answer.citations[0].doc
    assert service.shown_document(conversation).id == answer.citations[0].doc
    service.set_feedback(conversation, 1, liked=False)
    assert log.get(number).feedback == -1


def test_html_escapes_text_and_links_markers(retriever, town):
    answer = engine_of(retriever, refuse_below=0.0).answer("去年新修了多少公里乡村公路？")
    answer.answer = "<b>x</b> " + answer.answer
    shown = answer_html(answer, exchange=7)
    assert "&lt;b&gt;" in shown and 'href="#cite-7-1"' in shown
    sources = sources_html(answer, 7, {town.id: town.text})
    assert 'data-exchange="7"' in sources and "<mark>" in sources
    assert "河湾镇工作报告" in documents_html([town])


def test_the_subject_of_a_question_is_the_phrase_it_shares_with_the_corpus():
    assert shared_around("“3+1”国资集团是哪三家？", "整合组建“3+1”国资集团。", "3+1") == "“3+1”国资集团"
    assert shared_around("“3+1”是什么？", "没有这个词。", "3+1") == "3+1"


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("“3+1”国资集团是哪三家？", "3+1"),  # the phrase around the term is its subject, not what is asked
        ("三走是什么意思", "三走"),
        ("“三走”工作是哪一年由哪个部门提出的？", None),  # a fact about the term, which a sentence may give
        ("河湾镇去年新增了多少学位？", None),  # no term at all
        ("三走工作的效果怎么样？", None),  # names the term, asks no definition
        ("“三走”是什么？", "三走"),
        ("三走是走哪三个三走", "三走"),  # the term again in what is asked: only its first mention is the subject
        ("“三走”工作由哪个部门负责？", None),  # "which one": a fact about the term
        ("“3+1”国资集团是什么类型的企业？", None),  # an attribute of it, not its meaning
    ],
)
def test_a_definition_question_names_its_term_and_asks_little_else(question, term):
    sentences = ["整合组建“3+1”国资集团。", "深入开展“三走”工作。"]
    assert asked_term(question, {"3+1": "3+1", "三走": "三走"}, "".join(sentences), sentences) == term


def test_unmentioned_words_are_rare_topic_words_the_corpus_never_uses():
    """A hand-made tagger and rarity (jieba's are used in tests/test_answers.py)."""
    from nanhai_qa.app.answering.topic_words import TopicWords

    tags = {"南海": "ns", "足球": "n", "方面": "n", "打算": "v", "学位": "n", "看病": "v", "多少钱": "n",
            "医疗": "n", "龙舟赛": "nr", "动作": "n"}
    rarities = {"足球": 10.3, "方面": 8.0, "打算": 9.9, "学位": 12.0, "多少钱": 16.5, "医疗": 11.0, "龙舟赛": 16.8,
                "动作": 9.8}

    def tagger(text: str) -> list[tuple[str, str]]:
        return [(w, tags.get(w, "x")) for w in text.split()]

    words = TopicWords(tagger, lambda w: rarities.get(w, 0.0), "南海新增学位", frozenset({"医疗", "看病"}))
    assert words.unmentioned("南海 今年 在 足球 方面 有 什么 打算") == ["足球"]  # 方面 is common, 打算 a verb
    assert words.unmentioned("南海 新增 学位 多少钱 医疗") == []  # in the corpus, a question word, the profile's
    assert words.unmentioned("龙舟赛 足球 龙舟赛") == ["龙舟赛", "足球"]
    # topic words: nouns the corpus uses or rare ones, and the profile's words whatever their tag
    assert words("南海 学位 看病 足球 方面 动作 打算") == ["南海", "学位", "看病", "足球"]
    assert words("还 办 不 办") == [] and words("新 动作") == []
    assert TopicWords(tagger, lambda w: math.inf, "").unmentioned("足球") == []  # a word no dictionary knows: a mis-cut
    assert TopicWords(tagger, rarities.get, "", min_rarity=12.0).unmentioned("足球 学位") == ["学位"]
    assert TopicWords.of(object(), "") is None  # a tokenizer without tags or rarity
    # a word for the text itself is what the question is asked of, not a topic it leaves out
    source = TopicWords(lambda text: [(w, "n") for w in text.split()], lambda w: 12.0, "")
    assert source.unmentioned("这 篇文章 是 谁 写 的") == [] and source("这 篇文章") == ["篇文章"]
    assert source.unmentioned("原文 足球") == ["足球"]
