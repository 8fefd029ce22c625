"""Questions about a document as a whole, and its outline, on hand-made messages and documents (no model)."""

import pytest

from nanhai_qa.app.answering.followup import QuestionFrame
from nanhai_qa.app.answering.overview import (
    MAX_DOCUMENTS,
    asks_about_part,
    asks_overview,
    openings,
    outline,
    part_outline,
)
from nanhai_qa.app.profile import CorpusProfile
from nanhai_qa.ingest import Chunk, Document, Span

FRAME = QuestionFrame(
    CorpusProfile(relative_years={"2022": ["去年", "last year"], "2023": ["今年"]}, setting_words=["南海"]),
    {"2022", "2023"},
)


@pytest.mark.parametrize(
    "message",
    [
        "这篇文章讲了什么？",
        "这份报告主要说了啥",
        "文章的主要内容是什么？",
        "總結一下",  # Traditional
        "呢篇文講咩？",  # Cantonese
        "请帮我总结一下这篇文章",
        "帮我划重点！",
        "文章分为几个部分？",
        "What is this article about?",
        "Summarize the document, please.",
        "Give me a summary",
        "What are these documents about?",
        "这些文档讲了什么？",
    ],
)
def test_a_question_about_the_whole_text_asks_for_an_overview(message):
    assert asks_overview(message)


@pytest.mark.parametrize(
    "message",
    [
        "这篇文章是谁写的？",  # a fact about the text: the scorer finds the byline
        "文章讲了哪些医疗措施？",  # a topic: the scorer decides
        "帮我写一份年终工作总结",
        "今年重点领域改革要推进哪些方面？",
        "那今年改革的重点放在哪里？",
        "What is the summary of the 2023 plan for hospitals?",
        "总结一下2022年的教育成绩",
        "介绍一下",  # after an answer: asks for more of it
        "说说",
    ],
)
def test_a_question_about_something_in_the_text_does_not(message):
    assert not asks_overview(message)


@pytest.mark.parametrize(
    ("question", "year"),
    [
        ("今年南海有什么计划？", "2023"),
        ("去年南海做了哪些大事？", "2022"),
        ("2023年的主要工作有哪些？", "2023"),
        ("今年醫院有什麼計劃？", None),  # a topic of its own: the scorer decides
        ("顺德今年有什么重点工作？", None),  # a name of its own
        ("今年有什么展会？", None),  # a word of its own, though 会 alone is a function word
        ("今年的目标是多少？", None),  # asks a number
        ("南海有什么计划？", None),  # no year
        ("2019年有什么计划？", None),  # not one of the corpus's years
        ("What are Nanhai's plans for 2023?", "2023"),
        ("What did the district achieve last year?", "2022"),
        ("What will Nanhai do with its forests in 2023?", None),
    ],
)
def test_a_question_about_a_years_part_as_a_whole_is_told_apart(question, year):
    assert asks_about_part(question, FRAME) == year


def _chunk(n: int, text: str, start: int, heading_path: tuple[str, ...] = (), kind: str = "paragraph",
           doc: str = "d", period: str = "intro") -> Chunk:
    sentences = []
    at = start
    for piece in text.split("。"):
        if piece:
            sentences.append(Span(at, at + len(piece) + 1, piece + "。"))
            at += len(piece) + 1
    return Chunk(f"{doc}-{n}", doc, kind, heading_path, period, start, start + len(text), text, tuple(sentences))


def _document(chunks: list[Chunk], doc: str = "d") -> Document:
    return Document(doc, f"《{doc}》", f"{doc}.txt", "", tuple(chunks))


def test_the_outline_is_the_opening_and_each_parts_own_first_sentence():
    document = _document([
        _chunk(0, "作者某某。", 0, kind="byline"),
        _chunk(1, "本文讲两件事。第二句。", 10),
        _chunk(2, "第一部分的引言。还有一句。", 30, ("一、甲",)),
        _chunk(3, "甲的细节。", 50, ("一、甲", "（一）子")),
        _chunk(4, "乙的第一条。", 60, ("二、乙", "（一）子"), kind="bullet"),  # no introduction of its own
        _chunk(5, "乙的引言。", 70, ("二、乙",)),
    ])
    assert [s.text for _, s in outline(document)] == ["本文讲两件事。", "第一部分的引言。", "乙的引言。"]


def test_an_outline_never_opens_with_a_byline_and_a_part_without_running_text_gives_its_first_item():
    document = _document([
        _chunk(0, "作者某某。", 0, kind="byline"),
        _chunk(1, "第一条。", 10, ("一、甲",), kind="bullet"),
    ])
    assert [s.text for _, s in outline(document)] == ["第一条。"]


def test_a_document_without_headings_is_outlined_by_its_opening_sentence():
    document = _document([_chunk(0, "开头一句。后面一句。", 0), _chunk(1, "另一段。", 20)])
    assert [s.text for _, s in outline(document)] == ["开头一句。"]


def test_several_documents_each_give_their_opening_sentence_up_to_a_limit():
    documents = [_document([_chunk(0, f"文档{i}的开头。其余。", 0, doc=f"d{i}")], f"d{i}")
                 for i in range(MAX_DOCUMENTS + 2)]
    quoted = openings(documents)
    assert [s.text for _, s in quoted] == [f"文档{i}的开头。" for i in range(MAX_DOCUMENTS)]
    assert [c.doc for c, _ in quoted] == [f"d{i}" for i in range(MAX_DOCUMENTS)]


def test_a_years_part_is_outlined_by_its_opening_and_its_sections_headings():
    plan = "2023 plan"
    text = "\n".join(["开头。", "回顾2022年", "去年的引言。", "奋进2023年", "口号", "今年的引言。还有。",
                      "(一) 甲", "1 子", "一的第一条。", "(二) 乙", "二的第一条。"])

    def at(piece: str) -> int:
        return text.index(piece)

    document = Document("d", "d", "d.txt", text, (
        _chunk(0, "开头。", at("开头。")),
        _chunk(1, "去年的引言。", at("去年的引言。"), ("回顾2022年",), period="2022 review"),
        _chunk(2, "口号", at("口号"), ("奋进2023年",), kind="slogan", period=plan),
        _chunk(3, "今年的引言。还有。", at("今年的引言。"), ("奋进2023年",), period=plan),
        _chunk(4, "一的第一条。", at("一的第一条。"), ("奋进2023年", "(一) 甲", "1 子"), kind="bullet", period=plan),
        _chunk(5, "二的第一条。", at("二的第一条。"), ("奋进2023年", "(二) 乙"), kind="bullet", period=plan),
    ))
    quoted = part_outline(document, "2023")
    assert [s.text for _, s in quoted] == ["今年的引言。", "(一) 甲", "(二) 乙"]
    assert all(text[s.start : s.end] == s.text for _, s in quoted)  # headings cited at their own lines
    assert [s.text for _, s in part_outline(document, "2022")] == ["去年的引言。"]
    assert part_outline(document, "2021") == []


def test_a_section_whose_heading_is_not_found_gives_its_first_sentence():
    document = _document([_chunk(0, "一的第一条。", 0, ("奋进2023年", "(一) 甲"), kind="bullet", period="2023 plan")])
    assert [s.text for _, s in part_outline(document, "2023")] == ["一的第一条。"]
