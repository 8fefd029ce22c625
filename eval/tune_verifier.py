"""Calibrates the verifier of generated answers on the eval set: for each answerable item,
its evidence sentence (lightly reworded) against its own passage is a supported claim, and
three evidence sentences of other sections against that passage are unsupported ones. Prints,
for thresholds of cosine and word overlap, how many supported claims are kept and how many
unsupported ones get through. Prints figures; it asserts nothing."""

from __future__ import annotations

import random

from nanhai_qa.app.answering.engine import build_engine
from nanhai_qa.app.settings import Settings

from .metrics import load_items
from .sets import EVAL_SET


def main() -> None:
    retriever = build_engine(Settings(), log=lambda m: None).retriever
    items = [i for i in load_items(EVAL_SET) if i["answerable"]]
    chunk_of = {}
    for item in items:
        evidence = item["evidence"][0]
        chunk = next((c for c in retriever.corpus.chunks if evidence in c.text or c.text in evidence), None)
        if chunk:
            chunk_of[evidence] = chunk
    rng = random.Random(0)
    pairs = []
    for evidence, chunk in chunk_of.items():
        pairs.append(("南海" + evidence.rstrip("。") + "。", chunk, True))
        pairs += [(other, chunk, False) for other in rng.sample(list(chunk_of), 3)
                  if chunk_of[other].heading != chunk.heading]

    rows = []
    for sentence, chunk, supported in pairs:
        words = {w for w in retriever.tokenizer(sentence) if len(w) > 1}
        context = f"{chunk.heading} {chunk.period} {chunk.text}"
        overlap = len(words & set(retriever.tokenizer(context))) / max(1, len(words))
        cosine = float((retriever.sentence_vectors(chunk) @ retriever.embedder.embed_passages([sentence])[0]).max())
        rows.append((overlap, cosine, supported))
    positives = sum(r[2] for r in rows)
    negatives = len(rows) - positives
    print(f"{positives} supported and {negatives} unsupported claims")
    for min_cosine in (0.84, 0.86, 0.88, 0.90, 0.92):
        for min_overlap in (0.0, 0.3, 0.5, 0.7):
            kept = [r for r in rows if r[0] >= min_overlap and r[1] >= min_cosine]
            good = sum(r[2] for r in kept)
            print(f"cosine ≥ {min_cosine:.2f}, overlap ≥ {min_overlap:.1f}: supported kept {good / positives:.2f}, "
                  f"unsupported let through {(len(kept) - good) / negatives:.3f}")


if __name__ == "__main__":
    main()
