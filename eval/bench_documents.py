"""`make bench-documents`: the multi-document benchmark of `make bench-answers` (the test
splits of CMRC 2018 and DRCD, unanswerable questions from left-out paragraphs) read from
files, as a deployment reads its documents: each paragraph as a .txt file, and again as PDFs
printed by headless Chromium, ten paragraphs per PDF, one per page. Prints the figures side by
side, with the time to read each folder; asserts nothing.
"""

from __future__ import annotations

import argparse
import html
import sys
import tempfile
import time
from pathlib import Path

from nanhai_qa.app.answering.engine import build_retriever, engine_for
from nanhai_qa.app.profile import CorpusProfile
from nanhai_qa.app.settings import Settings
from nanhai_qa.index import load_embedder
from nanhai_qa.ingest import ExtractionCache, read_documents

from .bench_answers import mrc_row, table
from .mrc import DATASETS, corpus, load_paragraphs
from .scorer_data import retriever_for

PER_PDF = 10
# Debian's Chromium, as the browser tests drive it too (tests/conftest.py).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


def write_texts(documents, folder: Path) -> None:
    for doc in documents:
        (folder / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8")


def print_pdfs(documents, folder: Path) -> None:
    """Ten documents per PDF, one per page: each page a heading (the paragraph's article title)
    and the paragraph."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        for n in range(0, len(documents), PER_PDF):
            pages = []
            for doc in documents[n : n + PER_PDF]:
                body = doc.text.rstrip().rsplit("\n\n", 1)[-1]  # the paragraph, after its title lines
                pages.append(f'<section style="page-break-after: always"><h2>{html.escape(doc.title)}</h2>'
                             f"<p>{html.escape(body)}</p></section>")
            page.set_content(f"<html><head><meta charset='utf-8'><title>part {n // PER_PDF + 1}</title></head>"
                             f"<body>{''.join(pages)}</body></html>")
            page.pdf(path=str(folder / f"part-{n // PER_PDF + 1:03d}.pdf"), format="A4")
        browser.close()


def incremental(settings: Settings, log, documents: int = 300) -> str:
    """Seconds to bring the index of a folder of `documents` .txt files up to date after one
    of them changed (read every file, re-embed what changed, rebuild FAISS and BM25), against
    building it from nothing."""
    paragraphs = [p for p in load_paragraphs("drcd") if p.split != "test"][:documents]
    with tempfile.TemporaryDirectory() as work:
        folder, cache = Path(work) / "docs", Path(work) / "cache"
        folder.mkdir()
        (cache / "models").parent.mkdir(parents=True, exist_ok=True)
        (cache / "models").symlink_to(settings.storage.cache_dir / "models")
        write_texts([p.document() for p in paragraphs], folder)
        run = Settings(corpus=[folder], storage={"cache_dir": cache})
        started = time.perf_counter()
        build_retriever(run, CorpusProfile(), log=log)
        full = time.perf_counter() - started
        changed = folder / f"{paragraphs[0].doc}.txt"
        changed.write_text(changed.read_text(encoding="utf-8") + "这一句是新加的。\n", encoding="utf-8")
        started = time.perf_counter()
        retriever = build_retriever(run, CorpusProfile(), log=log)
        again = time.perf_counter() - started
    return (f"incremental index, {documents} .txt documents, one changed: {again:.1f} s "
            f"({retriever.corpus.manifest['embedded']} texts embedded); from nothing: {full:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--no-incremental", action="store_true", help="skip the incremental re-index figure")
    args = parser.parse_args(argv)
    settings = Settings()
    log = lambda message: print(message, file=sys.stderr)  # noqa: E731
    embedder = load_embedder(settings.retrieval.embedding_model, settings.storage.cache_dir, log=log)
    rows, notes = [], []
    for dataset in DATASETS:
        split = corpus(dataset, args.split)
        for kind, write in (("txt", write_texts), ("pdf", print_pdfs)):
            with tempfile.TemporaryDirectory() as folder:
                write(split.documents, Path(folder))
                extracted = ExtractionCache(Path(folder) / ".extracted")
                started = time.perf_counter()
                documents = read_documents([Path(folder)], on_skip=lambda s: log(str(s)), cache=extracted)
                read_s = time.perf_counter() - started
                started = time.perf_counter()
                read_documents([Path(folder)], cache=extracted)  # as the next start reads them
                again_s = time.perf_counter() - started
                # The .txt files hold the texts `make bench-answers` indexes: they share its cache.
                name = f"{dataset}-{args.split}" + ("-pdf" if kind == "pdf" else "")
                cache = settings.storage.cache_dir / "mrc" / name
                engine = engine_for(retriever_for(documents, embedder, cache, log), settings, CorpusProfile(), log)
            engine.warm_up()
            name = f"{dataset} {args.split}, {len(split.documents)} paragraphs as {len(documents)} .{kind} files"
            rows.append(mrc_row(engine, name, split.answerable, split.unanswerable, not args.no_progress))
            notes.append(f"{name}: read in {read_s:.1f} s, again (extractions cached) in {again_s:.2f} s")
    if not args.no_incremental:
        notes.append(incremental(settings, log))
    print(table(rows))
    print("\n" + "\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
