"""Public reading-comprehension data (data/mrc/: CMRC 2018 trial, DRCD test) as documents,
questions and multi-document corpora, split by article into train / dev / test.

Every paragraph becomes one document (its article's title, then the paragraph; for half of
them the title is also the paragraph's heading). A split's
multi-document corpus leaves out a fixed quarter of its paragraphs: their questions are asked
of it as unanswerable ones, keeping only those whose gold answers occur nowhere in it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from nanhai_qa.ingest import Document, chunk_document

MRC_DIR = Path(__file__).resolve().parent.parent / "data" / "mrc"
DATASETS = {"cmrc": "cmrc2018_trial.json", "drcd": "drcd_test.json"}  # Simplified, Traditional
# English versions of some of their questions (data/mrc/README.md): the scorer's model for
# questions without Chinese learns and is measured on these.
ENGLISH = "questions_en.jsonl"
SPLITS = ("train", "dev", "test")
# Shares of articles (out of 10) per split; an article's paragraphs stay together.
SPLIT_OF_BUCKET = ("train",) * 5 + ("dev",) * 2 + ("test",) * 3
LEFT_OUT_SHARE = 4  # one paragraph in LEFT_OUT_SHARE is left out of its split's corpus


@dataclass(frozen=True)
class MrcQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # the gold answer strings (any one is right)
    doc: str  # the document holding its paragraph
    start: int  # the first gold answer's span in that document's text
    end: int


@dataclass(frozen=True)
class MrcParagraph:
    doc: str
    dataset: str
    split: str
    title: str
    text: str  # the document text: title, blank line, paragraph
    questions: tuple[MrcQuestion, ...]

    def document(self) -> Document:
        title, chunks = chunk_document(self.doc, self.text)
        return Document(id=self.doc, title=title, path=f"data/mrc/{DATASETS[self.dataset]}#{self.doc}",
                        text=self.text, chunks=tuple(chunks))


@dataclass(frozen=True)
class MrcCorpus:
    """One split of one data set as a multi-document corpus, with its questions."""

    documents: list[Document]
    answerable: list[MrcQuestion]  # their paragraph is in the corpus
    unanswerable: list[MrcQuestion]  # their paragraph is left out, no gold answer in the corpus


def _bucket(key: str, buckets: int) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % buckets


def split_of(dataset: str, title: str) -> str:
    return SPLIT_OF_BUCKET[_bucket(f"{dataset}:{title}", len(SPLIT_OF_BUCKET))]


def left_out(doc: str) -> bool:
    return _bucket(f"left-out:{doc}", LEFT_OUT_SHARE) == 0


def headed(doc: str) -> bool:
    return _bucket(f"headed:{doc}", 2) == 0


def load_paragraphs(dataset: str, directory: Path = MRC_DIR) -> list[MrcParagraph]:
    data = json.loads((directory / DATASETS[dataset]).read_text(encoding="utf-8"))["data"]
    paragraphs = []
    for a, article in enumerate(data):
        title = article["title"].strip() or f"{dataset} {a}"
        for p, paragraph in enumerate(article["paragraphs"]):
            doc = f"{dataset}-{a:04d}-{p:02d}"
            # Half the paragraphs also carry their article's title as a heading, as a page of a
            # PDF or a section of a Word file does: the scorer learns what a heading naming
            # the question's subject is worth (nothing, by itself).
            head = f"# {title}\n\n## {title}\n\n" if headed(doc) else f"{title}\n\n"
            text = head + paragraph["context"] + "\n"
            questions = []
            for qa in paragraph["qas"]:
                gold = qa["answers"][0]
                start = len(head) + gold["answer_start"]
                if text[start : start + len(gold["text"])] != gold["text"]:
                    continue  # a misaligned answer span in the source data
                answers = tuple(dict.fromkeys(a["text"].strip() for a in qa["answers"] if a["text"].strip()))
                questions.append(MrcQuestion(qa["id"], qa["question"].strip(), answers, doc, start,
                                             start + len(gold["text"])))
            paragraphs.append(MrcParagraph(doc, dataset, split_of(dataset, title), title, text, tuple(questions)))
    return paragraphs


def corpus(dataset: str, split: str, directory: Path = MRC_DIR) -> MrcCorpus:
    """The split's paragraphs minus the left-out quarter, and the questions asked of them."""
    paragraphs = [p for p in load_paragraphs(dataset, directory) if p.split == split]
    kept = [p for p in paragraphs if not left_out(p.doc)]
    text = "\n".join(p.text for p in kept)
    unanswerable = [
        q for p in paragraphs if left_out(p.doc) for q in p.questions if not any(a in text for a in q.answers)
    ]
    return MrcCorpus(
        documents=[p.document() for p in kept],
        answerable=[q for p in kept for q in p.questions],
        unanswerable=unanswerable,
    )


def english_questions(directory: Path = MRC_DIR) -> dict[str, str]:
    """Question id → its English version."""
    lines = (directory / ENGLISH).read_text(encoding="utf-8").splitlines()
    return {row["id"]: row["en"] for row in map(json.loads, lines) if row.get("en")}


def in_english(questions: list[MrcQuestion], english: dict[str, str]) -> list[MrcQuestion]:
    """The questions that have an English version, asked in English."""
    return [replace(q, id=f"{q.id}/en", question=english[q.id]) for q in questions if q.id in english]
