"""The `nanhai-qa` command line: ingest, index, ask."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from nanhai_qa.app.answering.models import Answer, error_json, parse_history
from nanhai_qa.app.answering.scorer import ScorerFileError
from nanhai_qa.app.storage.database import DatabaseUnavailable, open_database
from nanhai_qa.index import IndexUnavailable
from nanhai_qa.ingest import IngestError, Skipped, read_documents

from .generation import GeneratorKind
from .prompts import prompt, prompts_version, render
from .settings import Settings


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "corpus", None):
        overrides["corpus"] = args.corpus
    if getattr(args, "cache_dir", None):
        overrides["storage"] = {"cache_dir": args.cache_dir}
    return Settings(**overrides)


def _progress_bar():
    from tqdm import tqdm

    bar, current = None, ""

    def update(stage: str, done: int, total: int) -> None:
        nonlocal bar, current
        if bar is None or stage != current:  # one bar per stage: embedding, then latent terms
            if bar is not None:
                bar.close()
            bar, current = tqdm(total=total, desc=stage, unit="text", file=sys.stderr), stage
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def cmd_ingest(args: argparse.Namespace) -> int:
    documents = read_documents(_settings(args).corpus, on_skip=lambda skipped: print(skipped))
    for doc in documents:
        kinds: dict[str, int] = {}
        for chunk in doc.chunks:
            kinds[chunk.kind] = kinds.get(chunk.kind, 0) + 1
        print(f"{doc.id}: “{doc.title}” — {len(doc.chunks)} chunks "
              f"({', '.join(f'{n} {k}' for k, n in kinds.items())}), {len(doc.text)} characters")
        if args.verbose:
            for chunk in doc.chunks:
                print(f"  {chunk.id} [{chunk.start}:{chunk.end}] {chunk.period} | {chunk.heading} | {chunk.text[:40]}")
    return 0


def _engine(args: argparse.Namespace, rebuild: bool = False, settings: Settings | None = None, on_skip=None):
    from nanhai_qa.app.answering.engine import build_engine

    return build_engine(settings or _settings(args), log=_log, progress=_progress_bar(), rebuild=rebuild,
                        on_skip=on_skip)


def cmd_index(args: argparse.Namespace) -> int:
    import time

    started = time.perf_counter()
    skipped: list[Skipped] = []
    # The command that builds the index replicas serve read-only: it builds whatever that says.
    settings = _settings(args).updated(storage={"index_readonly": False})
    engine = _engine(args, rebuild=args.rebuild, settings=settings, on_skip=skipped.append)
    corpus = engine.retriever.corpus
    sentences = len(corpus.sentence_vectors)
    for doc in corpus.documents.values():
        length = f"{len(doc.pages)} pages" if doc.pages else f"{len(doc.text)} characters"
        print(f"indexed {doc.id} ({doc.kind}, {length}): {doc.title}")
    for file in skipped:
        print(file)
    print(
        f"Index ready: {len(corpus.documents)} document(s), {len(skipped)} file(s) skipped, "
        f"{len(corpus.chunks)} chunks, {sentences} sentences, "
        f"model {corpus.manifest['model']}, FAISS {type(corpus.faiss_index).__name__}, "
        f"built {corpus.manifest['built']} ({time.perf_counter() - started:.1f} s)"
    )
    return 0


def format_answer(answer: Answer) -> str:
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
        lines.append("来源：")
        for c in answer.citations:
            where = " ".join(x for x in (c.title and f"《{c.title}》", c.doc, c.page and f"p.{c.page}") if x)
            lines.append(f"[{c.n}] {where} {c.start}–{c.end}" + (f" · {c.heading}" if c.heading else ""))
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    if args.batch:
        return _ask_batch(args)
    try:
        history = parse_history(json.loads(args.history)) if args.history else []
    except ValueError as e:
        print(f"--history: {e}", file=sys.stderr)
        return 2
    engine = _engine(args)
    if args.question:
        answer = engine.answer(args.question, history)
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=1) if args.json else format_answer(answer))
        return 0
    return _interactive(engine, args.json)


def _interactive(engine, as_json: bool) -> int:
    from nanhai_qa.app.answering.models import Message

    history: list[Message] = []
    print(render("cli_welcome", title=engine.profile.title or prompt("page_title")))
    while True:
        try:
            question = input("\n问> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if question.strip() == "/new":
            history = []
            continue
        answer = engine.answer(question, history)
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=1) if as_json else format_answer(answer))
        if not answer.error:
            history += [Message(role="user", content=question), Message(role="assistant", content=answer.answer)]


def _ask_batch(args: argparse.Namespace) -> int:
    if not args.out:
        print("--batch needs --out OUT.jsonl", file=sys.stderr)
        return 2
    try:
        lines = Path(args.batch).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        print(f"cannot read {args.batch}: {e}", file=sys.stderr)
        return 2
    engine = _engine(args)
    from tqdm import tqdm

    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    errors = 0
    with out_path.open("w", encoding="utf-8") as out:
        for number, line in enumerate(tqdm(lines, desc="answering", unit="q", file=sys.stderr), start=1):
            record = batch_answer(engine, line, number)
            errors += "error" in record
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"Wrote {len(lines)} answers to {out_path} ({errors} with errors).", file=sys.stderr)
    return 0


def batch_answer(engine, line: str, number: int) -> dict:
    """One output line per input line; bad input gives a line with an `error` field."""
    try:
        item = json.loads(line)
        if not isinstance(item, dict):
            raise ValueError("each line must be a JSON object")
    except ValueError as e:
        return {"id": None, **error_json(f"line {number}: not a JSON object ({e})")}
    item_id = item.get("id")
    try:
        history = parse_history(item.get("history"))
    except ValueError as e:
        return {"id": item_id, **error_json(f"line {number}: {e}")}
    return engine.answer(item.get("question"), history).to_json(item_id)


def cmd_serve(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = _settings(args).updated(server=overrides)
    # The app writes only into its two directories: Gradio's temporary files (the staff
    # desk's downloads) into the data directory, matplotlib's font list (Gradio imports
    # it) into the cache. Both libraries read these variables on import.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(settings.storage.data_dir / "gradio-tmp"))
    os.environ.setdefault("MPLCONFIGDIR", str(settings.storage.cache_dir / "matplotlib"))
    from nanhai_qa.app.service import ChatService
    from nanhai_qa.app.storage.exchange_log import ExchangeLog
    from nanhai_qa.app.web.page import build_app, launch

    from .ratelimit import limiter_for

    if settings.server.host not in ("127.0.0.1", "localhost", "::1"):
        _log(f"Listening on {settings.server.host}: the chat page is reachable from other machines.")
    # The log first: an unreachable database stops the start before the model loads.
    database = open_database(settings.storage.log_url(), pool_size=settings.server.concurrency_limit + 2)
    _log("Loading the model and the index (built on first run; this can take a minute) …")
    engine = _engine(args, settings=settings)
    engine.warm_up()
    server, staff = settings.server, settings.staff
    limiter = limiter_for(database, "questions", server.rate_limit_per_minute, server.rate_limit_burst)
    # Each login attempt takes a token: `login_attempts` per quarter of an hour per client.
    login_limiter = limiter_for(database, "staff-login", staff.login_attempts / 15, staff.login_attempts)
    log = ExchangeLog(database, settings.fingerprint(), prompts_version())
    service = ChatService(engine, log, limiter, login_limiter)
    _log(f"Ready: http://{server.host}:{server.port}  (staff desk {'on' if settings.staff.enabled() else 'off'})")
    launch(build_app(service, settings), service, settings)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    # eval drives the app from outside; the CLI only hands it an engine.
    from nanhai_qa.app.answering.engine import build_generator
    from nanhai_qa.eval.runner import evaluate, print_summary
    from nanhai_qa.eval.sets import EVAL_SET

    settings = _settings(args).updated(generation={"generator": GeneratorKind.EXTRACTIVE})
    engine = _engine(args, settings=settings)
    generators = {}
    if args.generator and args.generator != "extractive":
        generators[args.generator] = build_generator(
            settings.updated(generation={"generator": args.generator}), engine.retriever, engine.selection, log=_log
        )
    out = args.out or Path("eval-report")
    report = evaluate(engine, args.file or EVAL_SET, out=out, ablations=args.ablations, generators=generators,
                      settings_hash=settings.fingerprint())
    print_summary(report)
    print(f"\nReport: {out / 'report.md'}  figures: {out / 'figures.json'}  chart: {out / 'by_kind.png'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nanhai-qa",
        description="Ask questions about a set of documents; every answer cites its source sentences.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", type=Path, action="append",
                        help="a file (.txt .md .pdf .docx .html) or a folder of them (repeatable); "
                        "default: the bundled article (env NANHAI_QA_CORPUS)")
    common.add_argument("--cache-dir", type=Path,
                        help="where the model and index are cached (env NANHAI_QA_STORAGE__CACHE_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="read documents and show their chunks")
    p.add_argument("-v", "--verbose", action="store_true", help="list every chunk with offsets and heading path")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("index", parents=[common], help="build or refresh the search index")
    p.add_argument("--rebuild", action="store_true", help="rebuild even when the cached index is current")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", parents=[common], help="ask a question (no question: an interactive loop)")
    p.add_argument("question", nargs="?", help="the question; omit it for an interactive session")
    p.add_argument("--history", help='earlier turns as JSON: [{"role": "user", "content": "…"}, …]')
    p.add_argument("--json", action="store_true", help="print the answer as JSON (the batch schema)")
    p.add_argument("--batch", type=Path, metavar="IN.jsonl", help="answer every line of a JSONL file")
    p.add_argument("--out", type=Path, metavar="OUT.jsonl", help="where --batch writes its answers")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", parents=[common], help="start the chat page (Gradio) for residents and staff")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; env NANHAI_QA_SERVER__HOST)")
    p.add_argument("--port", type=int, help="port (default 7860; env NANHAI_QA_SERVER__PORT)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", parents=[common], help="run an eval set and write a report (Markdown, JSON, PNG)")
    p.add_argument("file", nargs="?", type=Path, help="eval set, SCHEMAS.md format (default eval/questions.jsonl)")
    p.add_argument("--ablations", action="store_true", help="also run BM25 only and dense only, side by side")
    p.add_argument("--out", type=Path, help="report folder (default ./eval-report)")
    p.add_argument("--generator", choices=[kind.value for kind in GeneratorKind],
                   help="also run this answer generator, side by side with the extractive one")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValidationError as e:
        problems = "; ".join(f"NANHAI_QA_{'__'.join(map(str, x['loc'])).upper()}: {x['msg']}" for x in e.errors())
        print(f"error: bad setting: {problems}", file=sys.stderr)
        return 2
    except (IngestError, DatabaseUnavailable, IndexUnavailable, ScorerFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # bad settings (e.g. an unknown retrieval mode)
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
