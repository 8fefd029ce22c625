"""Retrieval on the real article with the real model and FAISS; persistence and faults."""

import faiss
import numpy as np
import pytest

from nanhai_qa.index import JiebaTokenizer, Retriever, build_index, open_index, quoted_terms
from nanhai_qa.index.dense import build_faiss, search_all


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


def test_faiss_kinds_agree_on_clear_matches():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(2000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    kinds = [("flat", faiss.IndexFlatIP), ("hnsw", faiss.IndexHNSWFlat), ("ivf", faiss.IndexIVFFlat)]
    for kind, expected_type in kinds:
        index = build_faiss(vectors, kind)
        assert isinstance(index, expected_type)
        scores, ids = search_all(index, vectors[123], 5)
        assert ids[0] == 123 and scores[0] == pytest.approx(1.0, abs=1e-4)
    assert isinstance(build_faiss(vectors, "auto"), faiss.IndexFlatIP)  # small corpora stay exact
    with pytest.raises(ValueError, match="unknown FAISS index kind"):
        build_faiss(vectors, "lsh")


def test_index_persists_and_rebuilds_when_stale_or_damaged(tmp_path, article, embedder):
    directory = tmp_path / "index"
    log: list[str] = []
    first, built = open_index(directory, [article], embedder, log=log.append)
    assert built and log == [f"Index at {directory}: no index built yet; rebuilding."]
    assert {p.name for p in directory.iterdir()} == {"dense.faiss", "vectors.npz", "chunks.json", "manifest.json"}
    manifest = first.manifest
    assert manifest["model"] == embedder.model_id and manifest["sources"]["nanhai-2023"]
    assert manifest["chunker_version"]

    again, built = open_index(directory, [article], embedder, log=log.append)
    assert not built and [c.id for c in again.chunks] == [c.id for c in first.chunks]
    assert again.chunks == first.chunks

    faults = {
        "truncated": lambda: (directory / "dense.faiss").write_bytes((directory / "dense.faiss").read_bytes()[:100]),
        "garbage": lambda: (directory / "vectors.npz").write_bytes(b"garbage"),
        "missing": lambda: (directory / "chunks.json").unlink(),
        "bad manifest": lambda: (directory / "manifest.json").write_text("{not json"),
    }
    for name, damage in faults.items():
        damage()
        log.clear()
        index, built = open_index(directory, [article], embedder, log=log.append)
        assert built, name
        assert len(log) == 1 and "\n" not in log[0] and "rebuilding" in log[0], (name, log)
        assert index.chunks == first.chunks


def test_changed_source_rebuilds(tmp_path, article, embedder):
    from dataclasses import replace

    from nanhai_qa.ingest.structure import chunk_document

    directory = tmp_path / "index"
    open_index(directory, [article], embedder, log=lambda m: None)
    text = article.text.replace("39家", "40家")
    _, chunks = chunk_document(article.id, text)
    changed = replace(article, text=text, chunks=tuple(chunks))
    log: list[str] = []
    index, built = open_index(directory, [changed], embedder, log=log.append)
    assert built and "source documents changed" in log[0]
    assert any("40家" in c.text for c in index.chunks)


def test_build_index_embeds_chunks_sentences_and_headings(article, embedder):
    index = build_index([article], embedder)
    assert index.chunk_vectors.shape == (len(article.chunks), 384)
    assert len(index.sentence_vectors) == sum(len(c.sentences) for c in article.chunks)
    rural = "奋进2023年 › (二) 坚持以城带乡、城乡互促，焕发城乡融合发展新活力 › 2 深入实施乡村振兴"
    assert rural in index.heading_names


def test_an_index_that_cannot_be_saved_is_used_from_memory(tmp_path, article, embedder):
    # Root ignores file permissions, so an unwritable place is a path through a regular file.
    (tmp_path / "not-a-folder").write_text("x")
    log: list[str] = []
    index, built = open_index(tmp_path / "not-a-folder" / "index", [article], embedder, log=log.append)
    assert built and index.chunks and len(log) == 2 and "could not be saved" in log[1]


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
