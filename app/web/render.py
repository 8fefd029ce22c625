"""HTML for the chat page: answers with clickable markers, the sources panel, the article
view with cited spans highlighted. Everything from users or documents is escaped."""

from __future__ import annotations

import html
import re

from nanhai_qa.app.answering.extractive import period_label
from nanhai_qa.app.answering.models import Answer, Citation
from nanhai_qa.app.prompts import label
from nanhai_qa.ingest import Document

MARKER = re.compile(r"\[(\d+)\]")


def anchor(exchange: int, n: int) -> str:
    return f"cite-{exchange}-{n}"


def answer_html(answer: Answer, exchange: int) -> str:
    """The answer text, escaped, each [n] a link to its span in the article view."""
    text = html.escape(answer.answer)
    return MARKER.sub(lambda m: f'<a class="cite" href="#{anchor(exchange, int(m.group(1)))}">[{m.group(1)}]</a>', text)


def sources_html(answer: Answer, exchange: int, documents: dict[str, str]) -> str:
    """The cited passages beside the chat; `data-exchange` says which answer they belong to."""
    if not answer.citations:
        return f'<div class="sources-empty" data-exchange="{exchange}">{html.escape(label("sources_none"))}</div>'
    items = []
    for c in answer.citations:
        passage = next((p.chunk for p in answer.retrieved if p.chunk.id == c.chunk_id), None)
        start, end = (passage.start, passage.end) if passage else (c.start, c.end)
        text = documents[c.doc]
        context = (
            html.escape(text[start : c.start]) + f"<mark>{html.escape(c.quote)}</mark>" + html.escape(text[c.end : end])
        )
        page = c.page and label("page_number", page=c.page)
        where = " · ".join(x for x in (c.title and f"《{c.title}》", page, c.heading) if x)
        period = f'<span class="period">{html.escape(period_label(c.period))}</span>' if c.period != "intro" else ""
        items.append(
            f'<li class="source"><a class="cite" href="#{anchor(exchange, c.n)}">[{c.n}]</a> {period}'
            f'<div class="heading">{html.escape(where or c.doc)}</div>'
            f'<div class="passage">{context}</div></li>'
        )
    return f'<ol class="sources" data-exchange="{exchange}">' + "".join(items) + "</ol>"


def kind_name(kind: str) -> str:
    """What a document's kind is called on the page ("pdf" → PDF); unknown kinds as they are."""
    try:
        return label(f"kind_{kind}")
    except KeyError:
        return kind


def document_length(document: Document) -> str:
    """A document's length: pages where it has them, else characters."""
    if document.pages:
        return label("size_pages", count=len(document.pages))
    return label("size_chars", count=len(document.text))


def documents_html(documents: list[Document]) -> str:
    """The corpus at a glance: each document's title, kind and length (pages or characters)."""
    rows = "".join(
        f"<tr><td>{html.escape(d.title)}</td><td>{html.escape(kind_name(d.kind))}</td>"
        f"<td>{html.escape(document_length(d))}</td></tr>"
        for d in documents
    )
    header = "".join(
        f"<th>{html.escape(label(key))}</th>"
        for key in ("documents_header_title", "documents_header_kind", "documents_header_size")
    )
    return f'<table class="documents"><tr>{header}</tr>{rows}</table>'


def article_html(document: Document, cited: list[tuple[int, Citation]]) -> str:
    """The whole document with every cited span of the conversation marked (and, for a PDF,
    where each page starts). Citations are sentences, so two spans are the same or disjoint."""
    text = document.text
    spans: dict[int, tuple[int, list[str]]] = {}  # start → (end, anchors)
    for exchange, c in cited:
        if c.doc == document.id:
            spans.setdefault(c.start, (c.end, []))[1].append(anchor(exchange, c.n))
    pages = {start: n for n, start in enumerate(document.pages, 1)}
    parts, position = [], 0
    for cut in sorted(set(pages) | set(spans)):
        if cut < position:
            continue
        parts.append(html.escape(text[position:cut]))
        position = cut
        if cut in pages:
            parts.append(f'<div class="page-mark">{html.escape(label("page_number", page=pages[cut]))}</div>')
        if cut in spans:
            end, anchors = spans[cut]
            ids = "".join(f'<a id="{a}"></a>' for a in anchors)
            parts.append(f'<span class="cite-span">{ids}<mark>{html.escape(text[cut:end])}</mark></span>')
            position = end
    parts.append(html.escape(text[position:]))
    return (f'<div class="article" data-doc="{html.escape(document.id)}"><h3>{html.escape(document.title)}</h3>'
            f'<div class="article-text">{"".join(parts)}</div></div>')


# Markers and source links scroll the article view to the cited span and light it up.
CLICK_SCRIPT = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest('a[href^="#cite-"]');
  if (!link) return;
  event.preventDefault();
  const target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return;
  document.querySelectorAll(".cite-span.active").forEach((el) => el.classList.remove("active"));
  const span = target.closest(".cite-span");
  span.classList.add("active");
  span.scrollIntoView({ behavior: "smooth", block: "center" });
}, true);
</script>
"""

CSS = """
.article-view { max-height: 60vh; overflow-y: auto; }
.article-text { white-space: pre-wrap; line-height: 1.7; }
.cite-span mark { background: #fff3b0; }
.cite-span.active mark { background: #ffb347; outline: 2px solid #e67e00; }
.sources { padding-left: 1.2em; }
.source .heading { color: #666; font-size: 0.85em; }
.source .period { font-size: 0.8em; background: #eef; border-radius: 4px; padding: 0 4px; }
.source mark { background: #fff3b0; }
a.cite { text-decoration: none; font-weight: 600; }
.page-mark { color: #888; font-size: 0.8em; border-top: 1px dashed #ccc; margin: 0.6em 0 0.2em; }
.documents { font-size: 0.85em; width: 100%; }
.documents td, .documents th { padding: 2px 6px; text-align: left; }
"""
