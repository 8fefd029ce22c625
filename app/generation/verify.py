"""Citation verification of generated answers: every sentence shown must be supported by
the passage it cites: its numbers occur in that passage, its key words overlap it, and it
is close in meaning (embedding cosine) to one of the passage's sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nanhai_qa.app.answering.extractive import Draft
from nanhai_qa.app.answering.models import Citation
from nanhai_qa.app.prompts import prompt
from nanhai_qa.index import Passage, Retriever, few_passages_embedder
from nanhai_qa.ingest.patterns import SENTENCE_ENDS

# A generated sentence with the citation markers after it ("…3600家。[1]").
SENTENCE = re.compile(f"[^{SENTENCE_ENDS}\n]+[{SENTENCE_ENDS}]*(?:\\s*\\[\\d+\\])*")
MARKER = re.compile(r"\s*\[(\d+)\]")
# The label a small model may copy from before an excerpt ("（2022年已完成（回顾部分））…").
LABEL = re.compile(r"^（[^（）]*(?:（[^（）]*）)?[^（）]*）\s*")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
REFUSAL = re.compile(r"(文章|段落|原文)(里|中)?(没有|未)(提到|提及|说明|涉及)")


@dataclass(frozen=True)
class Verdict:
    sentence: str
    supported: bool
    passage: Passage | None = None
    quote_index: int = -1  # which sentence of the passage supports it
    reason: str = ""


class Verifier:
    def __init__(
        self, retriever: Retriever, min_similarity: float = 0.88, show_unverified: bool = False,
        min_word_overlap: float = 0.5,
    ) -> None:
        self.retriever = retriever
        self.embed = few_passages_embedder(retriever.embedder)
        self.min_similarity = min_similarity
        self.show_unverified = show_unverified
        # e5 puts even random text at cosine ~0.85 to any sentence, so the words must agree too:
        # at least this share of the sentence's words (two characters or more) occur in the passage.
        self.min_word_overlap = min_word_overlap

    def check(self, sentence: str, cited: list[Passage], candidates: list[Passage]) -> Verdict:
        """The best passage that supports `sentence`: one it cites, or (citing none) any candidate."""
        pool = cited or candidates
        if not pool:
            return Verdict(sentence, False, reason="no passage")
        words = {w for w in self.retriever.tokenizer(sentence) if len(w) > 1}
        if not words:
            return Verdict(sentence, False, reason="no content words")
        vector = self.embed([sentence])[0]
        best = Verdict(sentence, False, reason="not close to any cited sentence")
        best_score = -1.0
        for passage in pool:
            text = passage.chunk.text
            # the year a passage belongs to is in its heading path ("回顾2022年"), not its text
            context = f"{passage.chunk.heading} {passage.chunk.period} {text}"
            missing = [n for n in NUMBER.findall(sentence) if n not in context]
            if missing:
                if best_score < 0:
                    best = Verdict(sentence, False, reason=f"numbers not in the source: {missing}")
                continue
            if len(words & set(self.retriever.tokenizer(context))) < self.min_word_overlap * len(words):
                continue
            similarities = self.retriever.sentence_vectors(passage.chunk) @ vector
            index = int(np.argmax(similarities))
            if similarities[index] >= self.min_similarity and similarities[index] > best_score:
                best_score = float(similarities[index])
                best = Verdict(sentence, True, passage, index)
        return best

    def verify(self, generated: str, passages: list[Passage]) -> tuple[Draft | None, list[Verdict]]:
        """A Draft of the supported sentences (each cited to the source sentence backing it),
        or None when nothing is supported. A refusal by the model becomes a refused Draft."""
        verdicts: list[Verdict] = []
        for raw in (m.group(0).strip() for m in SENTENCE.finditer(generated)):
            numbers = [int(n) for n in MARKER.findall(raw)]
            text = LABEL.sub("", MARKER.sub("", raw).strip())
            if not re.search(r"\w", text):
                continue
            cited = [passages[n - 1] for n in numbers if 1 <= n <= len(passages)]
            verdicts.append(self.check(text, cited, passages))
        if not any(v.supported for v in verdicts):
            if REFUSAL.search(generated) and not MARKER.search(generated):
                return Draft(prompt("refusal"), [], refused=True), verdicts
            return None, verdicts
        lines, citations = [], []
        for v in verdicts:
            if v.supported and v.passage:
                chunk, span = v.passage.chunk, v.passage.chunk.sentences[v.quote_index]
                n = next((c.n for c in citations if (c.start, c.end) == (span.start, span.end)), len(citations) + 1)
                if n == len(citations) + 1:
                    citations.append(Citation(n, chunk.doc, chunk.id, span.start, span.end, span.text, chunk.heading,
                                              chunk.period, chunk.page))
                lines.append(f"{v.sentence}[{n}]")
            elif self.show_unverified and not NUMBER.search(v.sentence):
                lines.append(v.sentence + prompt("unverified_mark"))  # never an unsupported number
        return Draft("\n".join(lines), citations), verdicts
