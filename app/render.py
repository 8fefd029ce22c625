"""HTML for the chat page: answers with clickable markers, the sources panel, the article
view with cited spans highlighted. Everything from users or documents is escaped."""

from __future__ import annotations

import html
import re

from .extractive import period_label
from .models import Answer, Citation

MARKER = re.compile(r"\[(\d+)\]")


def anchor(exchange: int, n: int) -> str:
    return f"cite-{exchange}-{n}"


def answer_html(answer: Answer, exchange: int) -> str:
    """The answer text, escaped, each [n] a link to its span in the article view."""
    text = html.escape(answer.answer)
    return MARKER.sub(lambda m: f'<a class="cite" href="#{anchor(exchange, int(m.group(1)))}">[{m.group(1)}]</a>', text)


def sources_html(answer: Answer, exchange: int, documents: dict[str, str]) -> str:
    if not answer.citations:
        return '<div class="sources-empty">这次回答没有引用原文。</div>'
    items = []
    for c in answer.citations:
        passage = next((p.chunk for p in answer.retrieved if p.chunk.id == c.chunk_id), None)
        start, end = (passage.start, passage.end) if passage else (c.start, c.end)
        text = documents[c.doc]
        context = (
            html.escape(text[start : c.start]) + f"<mark>{html.escape(c.quote)}</mark>" + html.escape(text[c.end : end])
        )
        items.append(
            f'<li class="source"><a class="cite" href="#{anchor(exchange, c.n)}">[{c.n}]</a> '
            f'<span class="period">{html.escape(period_label(c.period))}</span>'
            f'<div class="heading">{html.escape(c.heading or c.doc)}</div>'
            f'<div class="passage">{context}</div></li>'
        )
    return '<ol class="sources">' + "".join(items) + "</ol>"


def article_html(doc_id: str, title: str, text: str, cited: list[tuple[int, Citation]]) -> str:
    """The whole document with every cited span of the conversation marked. Citations are
    sentences, so two spans are either the same or disjoint."""
    spans: dict[tuple[int, int], list[str]] = {}
    for exchange, c in cited:
        if c.doc == doc_id:
            spans.setdefault((c.start, c.end), []).append(anchor(exchange, c.n))
    parts, position = [], 0
    for (start, end), anchors in sorted(spans.items()):
        if start < position:
            continue
        parts.append(html.escape(text[position:start]))
        ids = "".join(f'<a id="{a}"></a>' for a in anchors)
        parts.append(f'<span class="cite-span">{ids}<mark>{html.escape(text[start:end])}</mark></span>')
        position = end
    parts.append(html.escape(text[position:]))
    return f'<div class="article"><h3>{html.escape(title)}</h3><div class="article-text">{"".join(parts)}</div></div>'


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
"""
