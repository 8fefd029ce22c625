"""Retrieval on the real article with the real model and FAISS; persistence and faults."""

import numpy as np
import pytest

from nanhai_qa.index import JiebaTokenizer, Retriever, build_index, open_index, quoted_terms


def _top_texts(engine, question, mode, k=5):
    retriever = engine.retriever
    return [p.chunk.text for p in retriever.search(retriever.prepare(question), k=k, mode=mode)]


@pytest.mark.parametrize("mode", ["dense", "bm25", "fused"])
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("2022年新认定了几家隐形冠军企业？", "新认定隐形冠军企业39家"),
        ("今年要推进宅基地制度改革吗？", "推进宅基地制度改革。"),
        ("有轨电车1号线开通了没有", "有轨电车1号线全线开通"),
        ("季华实验室要创建什么？", "支持季华实验室创建国家技术创新中心"),
    ],
)
def test_each_mode_finds_known_passages(engine, mode, question, expected):
    assert any(expected in text for text in _top_texts(engine, question, mode, k=3))


def test_fused_ranks_the_answer_first_for_paraphrases(engine):
    assert "学位超2万个" in _top_texts(engine, "孩子上学的学位去年多了多少？", "fused")[0]
    assert "水上巴士" in _top_texts(engine, "今年有冇水上巴士坐呀？", "fused")[0]


def test_traditional_and_english_questions(engine):
    assert "人民医院" in _top_texts(engine, "區人民醫院新院開業了沒有？", "fused")[0]
    english = _top_texts(engine, "How many new school places were added in 2022?", "fused")
    assert any("学位超2万个" in t for t in english)


def test_quoted_terms_stay_whole_in_jieba(article):
    terms = quoted_terms([article.text])
    assert {"七湖三湾一站一园", "工业上楼", "三医联动", "1114", "五个不发生"} <= terms
    tokenizer = JiebaTokenizer(terms)
    assert "七湖三湾一站一园" in tokenizer("“七湖三湾一站一园”规划建设扎实推进")
    assert "三医联动" in tokenizer("深化三医联动改革")
    assert "工业上楼" in tokenizer("工業上樓怎么推进")  # folded to Simplified first
    assert "七湖三湾一站一园" not in JiebaTokenizer()("七湖三湾一站一园")  # jieba alone splits it


def test_tokenizer_is_injectable(engine):
    """Any callable text → words can stand in for jieba (here: single characters)."""
    retriever = Retriever(engine.retriever.corpus, engine.retriever.embedder, tokenizer=lambda t: list(t))
    passages = retriever.search(retriever.prepare("宅基地"), k=3, mode="bm25")
    assert "宅基地" in passages[0].chunk.text


def test_the_settings_names_are_not_searched_as_words(engine):
    """The profile's setting words (南海) say where every passage is: as words they would lift
    any short passage naming them (a slogan, the opening lines) above the one about the topic."""
    question = "南海今年在党建方面有什么计划？"
    assert "南海" not in engine.retriever.prepare(question).words
    plain = Retriever(engine.retriever.corpus, engine.retriever.embedder, engine.retriever.tokenizer)
    assert "南海" in plain.prepare(question).words and "党建" in engine.retriever.prepare(question).words


def test_the_real_model_index_round_trip(tmp_path, article, embedder):
    """One round trip with the real model; the persistence and fault matrix runs on a hashing
    embedder in tests/unit/test_persistence.py."""
    directory = tmp_path / "index"
    first, built = open_index(directory, [article], embedder, log=lambda m: None)
    again, rebuilt = open_index(directory, [article], embedder, log=lambda m: None)
    assert built and not rebuilt and again.chunks == first.chunks
    assert np.array_equal(again.chunk_vectors, first.chunk_vectors)


def test_build_index_embeds_chunks_sentences_and_headings(article, embedder):
    index = build_index([article], embedder)
    assert index.chunk_vectors.shape == (len(article.chunks), 384)
    assert len(index.sentence_vectors) == sum(len(c.sentences) for c in article.chunks)
    rural = "奋进2023年 › (二) 坚持以城带乡、城乡互促，焕发城乡融合发展新活力 › 2 深入实施乡村振兴"
    assert rural in index.heading_names


def test_english_words_meet_the_corpus_through_dictionary_glosses(tmp_path):
    from nanhai_qa.index.crosslingual import EnglishBridge, english_words

    assert english_words("What new school places were added?") == ["new", "school", "place", "add"]
    assert english_words("planned villages lagging companies") == ["plan", "village", "lag", "company"]
    dictionary = tmp_path / "cedict.txt"
    dictionary.write_text(
        "# a hand-made excerpt in CC-CEDICT's format\n"
        "學位 学位 [xue2 wei4] /academic degree/place in school/\n"
        "醫院 医院 [yi1 yuan4] /hospital/CL:所[suo3]/\n"
        "醫生 医生 [yi1 sheng1] /doctor/\n"
        "地方 地方 [di4 fang5] /region/place/\n"
        "院 院 [yuan4] /courtyard/hospital/\n",
        encoding="utf-8",
    )
    bridge = EnglishBridge({"学位", "医院", "地方", "院", "新增"}, per_word=2, path=dictionary)
    assert bridge.words_for("Which hospital?") == ["医院"]  # 医生 is not in the corpus, 院 is one character
    assert bridge.words_for("school places") == ["学位", "地方"]  # "place" alone glosses 地方 best
    assert bridge.words_for("weather") == []
