"""Where the bundled language model might help the extractive engine, measured with llama.cpp
(`make bench-generation` runs it after the generators' table). Three uses, each decided on the
tuning data before the test figures were looked at, by the rule stated here:

1. **Follow-up rewrite** (`prompts/llm_rewrite.txt`): the model rewrites a follow-up into a
   standalone question, which is answered without history; compared with the engine's rules on
   the items with history. Adopted if it answers more of them correctly on tuning data.
2. **Answerability judgement** (`prompts/llm_judge.txt`): after the answer scorer lets a question
   through, the model says whether the excerpts answer it ("能/不能"); "不能" would refuse.
   Adopted if, on tuning data, it refuses more unanswerable items than answerable ones.
3. **One-line summary** (`prompts/llm_summary.txt`) above the quoted sentences, shown only when
   the verifier backs it. Adopted if, on tuning data, at least 80% of summaries verify and the
   verified ones hold the answer's key words at least 90% as often as the quotes do.

Tuning data: eval/train.jsonl and eval/dev.jsonl; reported: eval/questions.jsonl and
eval/heldout.jsonl. Prints figures; asserts nothing."""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field

from nanhai_qa.app.answering.engine import AnswerEngine, Generator, TokenCallback, build_engine
from nanhai_qa.app.answering.extractive import AnswerStyle, Draft
from nanhai_qa.app.answering.models import Answer, parse_history
from nanhai_qa.app.answering.scorer import Judgement
from nanhai_qa.app.generation.llm import (
    ChatBackend,
    LlamaCppBackend,
    bundled_qwen,
    excerpts,
    excerpts_text,
)
from nanhai_qa.app.generation.verify import Verifier
from nanhai_qa.app.prompts import render
from nanhai_qa.app.settings import Settings
from nanhai_qa.index import Passage, Query

from .metrics import is_correct, keywords_present, load_items
from .sets import DEV_SET, EVAL_SET, HELDOUT, TRAIN_SET

TUNING = (TRAIN_SET, DEV_SET)
REPORTED = (EVAL_SET, HELDOUT)


def ask(backend: ChatBackend, text: str) -> tuple[str, float]:
    """The model's whole reply to one user message, and the seconds it took."""
    started = time.perf_counter()
    reply = "".join(backend.stream([{"role": "user", "content": text}])).strip()
    return reply, time.perf_counter() - started


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    def add(self, key: str, yes: bool = True) -> None:
        self.counts[key] = self.counts.get(key, 0) + int(yes)

    def line(self) -> str:
        extra = f", model time p50 {statistics.median(self.seconds):.2f} s" if self.seconds else ""
        return ", ".join(f"{k} {v}" for k, v in self.counts.items()) + extra


def rewrite(engine: AnswerEngine, backend: ChatBackend, items: list[dict]) -> Tally:
    tally = Tally()
    for item in (i for i in items if i["history"]):
        history = parse_history(item["history"])
        by_rules = engine.answer(item["question"], history)
        dialogue = "\n".join(f"{'用户' if m.role == 'user' else '助手'}：{m.content}" for m in history)
        standalone, seconds = ask(backend, render("llm_rewrite", history=dialogue, question=item["question"]))
        by_model = engine.answer(standalone.splitlines()[0] if standalone else item["question"], [])
        tally.seconds.append(seconds)
        tally.add("items")
        tally.add("right by rules", is_correct(item, by_rules.refused, by_rules.answer))
        tally.add("right by model rewrite", is_correct(item, by_model.refused, by_model.answer))
    return tally


@dataclass
class Recording:
    """A generator that answers as `inner` does and keeps what the engine judged for it: the
    query and the scorer's judgement after follow-up resolution, without the sentences a
    question asking for more was already told (what a generative answer would be given)."""

    inner: Generator
    name: str = "recording"
    query: Query | None = None
    judgement: Judgement | None = None

    def generate(self, question: str, query: Query, passages: list[Passage], judgement: Judgement,
                 style: AnswerStyle | None = None, on_token: TokenCallback | None = None) -> Draft:
        self.query, self.judgement = query, judgement
        return self.inner.generate(question, query, passages, judgement, style, on_token)


def judged_answer(engine: AnswerEngine, item: dict) -> tuple[Answer, Query, Judgement] | None:
    """The engine's answer to an eval item and what it judged to give it; None when it refused
    or answered without judging candidates (an outline)."""
    recording = Recording(engine.generator)
    answer = engine.answer(item["question"], parse_history(item["history"]), generator=recording)
    if answer.refused or recording.query is None or recording.judgement is None:
        return None
    return answer, recording.query, recording.judgement


def judge_and_summarise(engine: AnswerEngine, backend: ChatBackend, verifier: Verifier, items: list[dict],
                        max_excerpts: int) -> tuple[Tally, Tally]:
    judged, summarised = Tally(), Tally()
    for item in items:
        found = judged_answer(engine, item)
        if found is None:
            continue  # the scorer refused first: neither use applies
        answer, query, judgement = found
        shown = excerpts(engine.selection, judgement, query, max_excerpts)
        numbered = excerpts_text(shown)
        verdict, seconds = ask(backend, render("llm_judge", passages=numbered, question=answer.query))
        judged.seconds.append(seconds)
        says_no = verdict.startswith("不能")
        judged.add("answerable items let through", item["answerable"])
        judged.add("unanswerable items let through", not item["answerable"])
        judged.add("judge refuses answerable", says_no and item["answerable"])
        judged.add("judge refuses unanswerable", says_no and not item["answerable"])
        if not item["answerable"]:
            continue
        summary, seconds = ask(backend, render("llm_summary", passages=numbered, question=answer.query))
        summarised.seconds.append(seconds)
        draft, _ = verifier.verify(summary, [e.passage for e in shown])
        verified = draft is not None and not draft.refused
        summarised.add("answerable items answered")
        summarised.add("quotes hold the key words", keywords_present(answer.answer, item["answer_keywords"]))
        summarised.add("summary verified", verified)
        summarised.add("verified summary holds the key words",
                       verified and keywords_present(draft.text, item["answer_keywords"]))
    return judged, summarised


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    settings = Settings()
    engine = build_engine(settings, log=lambda m: None)
    generation = settings.generation
    backend = LlamaCppBackend(bundled_qwen(settings.storage.cache_dir / "llm"), generation.llm_threads,
                              generation.llm_context, generation.llm_max_new_tokens)
    verifier = Verifier(engine.retriever, generation.verify_min_similarity, False, generation.verify_min_word_overlap)
    for label, paths in (("tuning (decides)", TUNING), ("reported", REPORTED)):
        items = [item for path in paths for item in load_items(path)]
        print(f"\n## {label}: {', '.join(p.name for p in paths)} ({len(items)} items)")
        print("follow-up rewrite:", rewrite(engine, backend, items).line())
        judged, summarised = judge_and_summarise(engine, backend, verifier, items, generation.llm_max_excerpts)
        print("answerability judge:", judged.line())
        print("one-line summary:", summarised.line())


if __name__ == "__main__":
    main()
