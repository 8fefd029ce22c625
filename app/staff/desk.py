"""The staff citation desk (tab "引用核查"): recent exchanges, filters, a verbatim check of
every citation against the source, and CSV/JSONL export. Built only when staff
credentials are configured; every action re-checks the session's login."""

from __future__ import annotations

import csv
import hmac
import html
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from nanhai_qa.app.prompts import label, render
from nanhai_qa.app.ratelimit import RateLimiter, client_address
from nanhai_qa.app.service import ChatService
from nanhai_qa.app.settings import StaffSettings
from nanhai_qa.app.storage.exchange_log import Exchange

# Over how many recent questions holding missing words the desk counts them
UNMENTIONED_WINDOW = 1000


def citation_ok(citation: dict, documents: dict[str, str]) -> bool:
    text = documents.get(citation["doc"])
    return text is not None and text[citation["start"] : citation["end"]] == citation["quote"]


def check_mark(exchange: Exchange, documents: dict[str, str]) -> str:
    if not exchange.citations:
        return "—"
    good = sum(citation_ok(c, documents) for c in exchange.citations)
    return f"{'✓' if good == len(exchange.citations) else '✗'} {good}/{len(exchange.citations)}"


def feedback_mark(value: int | None) -> str:
    return {1: "👍", -1: "👎"}.get(value, "")


def rows(exchanges: list[Exchange], texts: Callable[[Exchange], dict[str, str]]) -> list[list]:
    """`texts(exchange)` gives the source texts the exchange was answered from."""
    return [
        [e.id, e.time, e.question, label("staff_yes") if e.refused else "", feedback_mark(e.feedback),
         check_mark(e, texts(e)), round(e.latency_ms, 1)]
        for e in exchanges
    ]


def unmentioned_summary(counts: list[tuple[str, int]], limit: int, shown: int = 30) -> str:
    """The words residents asked about that no document uses, most asked first (Markdown)."""
    if not counts:
        return label("staff_unmentioned_none")
    words = "、".join(f"{word} ×{n}" for word, n in counts[:shown])
    return label("staff_unmentioned_words", limit=limit, words=words)


def detail_html(exchange: Exchange, documents: dict[str, str], current_sources: dict[str, str]) -> str:
    """`documents`: the texts the exchange was answered from; `current_sources`: today's hashes."""
    versions = (label("staff_versions", settings=exchange.settings_hash, prompts=exchange.prompts_version)
                if exchange.settings_hash else "")
    parts = [f"<h4>#{exchange.id} · {html.escape(exchange.time)}{html.escape(versions)}</h4>",
             f"<p><b>{label('staff_question')}</b>{html.escape(exchange.question)}</p>",
             f'<p><b>{label("staff_answer")}</b>'
             f'<span style="white-space:pre-wrap">{html.escape(exchange.answer)}</span></p>']
    for c in exchange.citations:
        text = documents.get(c["doc"], "")
        ok = citation_ok(c, documents)
        changed = exchange.sources.get(c["doc"]) != current_sources.get(c["doc"])
        note = label("staff_source_changed") if changed else ""
        before, quoted, after = text[max(0, c["start"] - 60) : c["start"]], text[c["start"] : c["end"]], text[
            c["end"] : c["end"] + 60
        ]
        context = f"{html.escape(before)}<mark>{html.escape(quoted)}</mark>{html.escape(after)}"
        parts.append(
            f'<div class="check"><b>[{c["n"]}] {"✓" if ok else "✗"}</b> {html.escape(c["doc"])} '
            f'{c["start"]}–{c["end"]} · {html.escape(c.get("heading", ""))}{note}<br>'
            f'{label("staff_quote")}“{html.escape(c["quote"])}”<br><span class="context">…{context}…</span></div>'
        )
    return "".join(parts)


def export(exchanges: list[Exchange], directory: Path) -> tuple[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    csv_path, jsonl_path = directory / f"exchanges-{stamp}.csv", directory / f"exchanges-{stamp}.jsonl"
    with csv_path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "time", "question", "history_length", "answer", "refused", "feedback", "latency_ms",
                         "citations", "settings_hash", "prompts_version", "unmentioned"])
        for e in exchanges:
            writer.writerow([e.id, e.time, e.question, e.history_length, e.answer, int(e.refused),
                             "" if e.feedback is None else e.feedback, e.latency_ms,
                             json.dumps(e.citations, ensure_ascii=False), e.settings_hash or "",
                             e.prompts_version or "", "、".join(e.unmentioned)])
    with jsonl_path.open("w", encoding="utf-8") as f:
        for e in exchanges:
            f.write(json.dumps(asdict(e), ensure_ascii=False) + "\n")
    return str(csv_path), str(jsonl_path)


def build_staff_tab(service: ChatService, staff: StaffSettings, exports_dir: Path) -> None:
    user = staff.user or ""
    password = staff.password.get_secret_value() if staff.password else ""
    # Each login attempt takes a token: `login_attempts` per quarter of an hour per client,
    # kept with the service's other limits when it has one (shared by replicas), else here.
    login_limiter = service.login_limiter or RateLimiter(staff.login_attempts / 15, staff.login_attempts)

    def authorised(logged_in: bool) -> None:
        if not logged_in:
            raise gr.Error(label("staff_login_first"))

    with gr.Tab(label("staff_tab"), elem_id="staff-tab"):
        logged_in = gr.State(False)
        with gr.Column() as login_box:
            name = gr.Textbox(label=label("staff_user"), elem_id="staff-user")
            secret = gr.Textbox(label=label("staff_password"), type="password", elem_id="staff-password")
            login = gr.Button(label("staff_login"), elem_id="staff-login")
            login_message = gr.Markdown()
        with gr.Column(visible=False) as desk:
            with gr.Row():
                refused_only = gr.Checkbox(label=label("staff_refused_only"))
                disliked_only = gr.Checkbox(label=label("staff_disliked_only"))
                unmentioned_only = gr.Checkbox(label=label("staff_unmentioned_only"))
                search = gr.Textbox(label=label("staff_search"), scale=3)
                refresh = gr.Button(label("staff_refresh"), elem_id="staff-refresh")
            missing_topics = gr.Markdown(elem_id="staff-unmentioned")
            table = gr.Dataframe(headers=label("staff_columns").split("|"), interactive=False, wrap=True,
                                 elem_id="staff-table")
            with gr.Row():
                pick = gr.Number(label=label("staff_pick"), precision=0)
                show = gr.Button(label("staff_show"))
            detail = gr.HTML(elem_id="staff-detail")
            with gr.Row():
                export_button = gr.Button(label("staff_export"))
                files = gr.File(label=label("staff_export_files"), file_count="multiple")

        def do_login(given_user: str, given_password: str, request: gr.Request) -> tuple:
            wait = login_limiter.wait_seconds(client_address(request))
            if wait:
                return False, gr.update(), gr.update(visible=False), render("staff_login_limited",
                                                                            minutes=math.ceil(wait / 60))
            ok = hmac.compare_digest(given_user.encode(), user.encode()) & hmac.compare_digest(
                given_password.encode(), password.encode()
            )
            if not ok:
                return False, gr.update(), gr.update(visible=False), render("staff_login_failed")
            return True, gr.update(visible=False), gr.update(visible=True), ""

        def listing(logged: bool, refused: bool, disliked: bool, text: str, unmentioned: bool) -> tuple:
            authorised(logged)
            chosen = service.log.recent(refused_only=refused, disliked_only=disliked, text=text,
                                        unmentioned_only=unmentioned)
            return (rows(chosen, service.texts_of),
                    unmentioned_summary(service.log.unmentioned_words(UNMENTIONED_WINDOW), UNMENTIONED_WINDOW))

        def one(logged: bool, exchange_id: float | None) -> str:
            authorised(logged)
            found = service.log.get(int(exchange_id or 0))
            return detail_html(found, service.texts_of(found), service.sources) if found else label("staff_not_found")

        def do_export(logged: bool, refused: bool, disliked: bool, text: str, unmentioned: bool) -> list[str]:
            authorised(logged)
            chosen = service.log.recent(limit=100_000, refused_only=refused, disliked_only=disliked, text=text,
                                        unmentioned_only=unmentioned)
            return list(export(chosen, exports_dir))

        private = {"api_visibility": "private"}
        filters = [logged_in, refused_only, disliked_only, search, unmentioned_only]
        login.click(do_login, [name, secret], [logged_in, login_box, desk, login_message], **private).then(
            listing, filters, [table, missing_topics], **private
        )
        for trigger in (refresh.click, refused_only.change, disliked_only.change, unmentioned_only.change,
                        search.submit):
            trigger(listing, filters, [table, missing_topics], **private)
        show.click(one, [logged_in, pick], detail, **private)
        export_button.click(do_export, filters, files, **private)
