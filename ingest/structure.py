"""Split a document into chunks by its structure: parts, numbered sections, subsections,
bullets, paragraphs and the byline. One chunk is one bullet or one paragraph, never a
fixed-size window; every chunk and sentence keeps exact offsets into the source text."""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

from .models import PERIOD_INTRO, Chunk, Span
from .patterns import SENTENCE_END, SENTENCE_ENDS, YEAR

CHUNKER_VERSION = "5"

MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")
# "回顾2022年", "奋进2023年": a short line naming a year opens a part of the article.
PART_HEADING = re.compile(f"^\\S{{0,6}}?({YEAR.pattern})\\s*年\\S{{0,6}}$")
SECTION_HEADING = re.compile(r"^[(（][一二三四五六七八九十]+[)）]\s*\S")
SUBSECTION_HEADING = re.compile(r"^\d{1,2}[\s、.．]\s*\S")
BULLET = re.compile(r"^[-•*·]\s+")
BYLINE = re.compile(r"^(文\s*[/／]|记者[:：\s]|来源[:：]|作者[:：])")
OPENING_BRACKETS, CLOSING_BRACKETS = "（(［[【", "）)］]】"
QUOTES = {"“": "”", "「": "」", "『": "』"}
# A quotation at most this long stays in its sentence ("解释为：“……地位。通常……礼仪。”");
# a longer one, a quoted speech, is split into its sentences as any text is.
SHORT_QUOTATION = 100
REVIEW_WORDS = ("回顾", "总结", "过去", "成绩")
PLAN_WORDS = ("奋进", "展望", "计划", "部署", "目标")
SHORT_LINE = 20
TITLE_MAX_CHARS = 50
BODY_ENDINGS = ("。", "；", ";", "，", ",", "：", ":")


@dataclass
class _Line:
    start: int
    end: int
    text: str  # the line without surrounding whitespace; text == source[start:end]


def _lines(text: str) -> list[_Line]:
    lines, pos = [], 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        stripped = body.strip()
        if stripped:
            start = pos + body.index(stripped)
            lines.append(_Line(start, start + len(stripped), stripped))
        pos += len(raw)
    return lines


def _is_heading_like(text: str) -> bool:
    return len(text) <= 40 and not any(p in text for p in SENTENCE_ENDS)


def heading_level(text: str) -> int | None:
    """1 = part, 2 = numbered section, 3 = numbered subsection (markdown: number of #)."""
    if m := MARKDOWN_HEADING.match(text):
        return len(m.group(1))
    if PART_HEADING.match(text):
        return 1
    if SECTION_HEADING.match(text) and _is_heading_like(text):
        return 2
    if SUBSECTION_HEADING.match(text) and _is_heading_like(text):
        return 3
    return None


def period_of(part_heading: str) -> str:
    m = YEAR.search(part_heading)
    if not m:
        return PERIOD_INTRO
    year = m.group(0)
    if any(w in part_heading for w in REVIEW_WORDS):
        return f"{year} review"
    if any(w in part_heading for w in PLAN_WORDS):
        return f"{year} plan"
    return year


def _bracketed(text: str) -> list[bool]:
    """For each position of `text`, whether it lies inside a bracket opened before it and closed
    after it (one pass: a line may be a whole page)."""
    last_close = max(text.rfind(c) for c in CLOSING_BRACKETS)
    inside, depth = [], 0
    for i, ch in enumerate(text):
        inside.append(depth > 0 and last_close >= i)
        depth += (ch in OPENING_BRACKETS) - (ch in CLOSING_BRACKETS)
    return inside


def _quoted(text: str) -> set[int]:
    """The positions just after an opening quotation mark up to its closing one, in quotations
    of at most SHORT_QUOTATION characters."""
    inside, opened = set(), []  # opened: positions of the quotation marks still open
    for i, ch in enumerate(text):
        if ch in QUOTES:
            opened.append(i)
        elif opened and ch == QUOTES[text[opened[-1]]]:
            start = opened.pop()
            if i - start <= SHORT_QUOTATION:
                inside.update(range(start + 1, i + 1))
    return inside


def split_sentences(source: str, start: int, end: int) -> tuple[Span, ...]:
    """Sentences end at 。！？； (with closing quotes) outside brackets and short quotations, and
    at line ends."""
    spans = []
    for line in _lines(source[start:end]):
        line_start = start + line.start
        pos = 0
        bracketed, quoted = _bracketed(line.text), _quoted(line.text)
        for m in SENTENCE_END.finditer(line.text):
            if bracketed[m.start()]:
                continue  # "京急逗子线（；）": punctuation inside brackets ends nothing
            if m.end() in quoted:
                continue  # a quoted sentence is part of the sentence quoting it; "。”" ends both
            spans.append((line_start + pos, line_start + m.end()))
            pos = m.end()
        if pos < len(line.text):
            spans.append((line_start + pos, line_start + len(line.text)))
    out = []
    for s, e in spans:
        piece = source[s:e]
        lead = len(piece) - len(piece.lstrip())
        s, e = s + lead, s + len(piece.rstrip())
        if e > s:
            out.append(Span(s, e, source[s:e]))
    return tuple(out)


def title_line(lines: list[_Line]) -> bool:
    """Whether the first line is the document's title: a Markdown heading, or a short line
    that does not end like a sentence of body text, with more text after it. A file holding
    one line (or one long paragraph first) has no title line: all of it is body."""
    first = lines[0].text
    if m := MARKDOWN_HEADING.match(first):  # unless it is the first of several top headings
        level = len(m.group(1))
        return not any((h := MARKDOWN_HEADING.match(line.text)) and len(h.group(1)) <= level for line in lines[1:])
    return len(lines) > 1 and len(first) <= TITLE_MAX_CHARS and not first.endswith(BODY_ENDINGS)


def chunk_document(doc_id: str, text: str, pages: tuple[int, ...] = ()) -> tuple[str, list[Chunk]]:
    """Return the document's title line ("" when it has none) and its chunks in reading order.
    `pages` are the offsets where the pages of a paged document start."""
    lines = _lines(text)
    if not lines:
        return "", []
    has_title = title_line(lines)
    title = MARKDOWN_HEADING.sub(r"\2", lines[0].text) if has_title else ""
    body = lines[1:] if has_title else lines
    headings: list[tuple[int, str]] = []
    period = PERIOD_INTRO
    pieces: list[tuple[str, int, int, tuple[str, ...], str]] = []
    slogan: list[_Line] = []
    paragraph: list[_Line] = []
    just_opened_part = False

    def flush(kind: str, block: list[_Line]) -> None:
        if block:
            path = tuple(h for _, h in headings)
            pieces.append((kind, block[0].start, block[-1].end, path, period))
            block.clear()

    previous_end = lines[0].end if has_title else lines[0].start
    for line in body:
        blank_before = "\n" in text[previous_end : line.start].replace("\r", "")[1:] or (
            text[previous_end : line.start].count("\n") >= 2
        )
        previous_end = line.end
        level = heading_level(line.text)
        if level is not None:
            flush("slogan", slogan)
            flush("paragraph", paragraph)
            name = MARKDOWN_HEADING.sub(r"\2", line.text)
            headings[:] = [h for h in headings if h[0] < level] + [(level, name)]
            # A part is a top heading, or a heading of any level that names a year's review or
            # plan ("## 回顾2022年" in a Markdown, Word or PDF rendering of the article), or a
            # year other than the current part's ("二、2023年工作安排" after "一、2022年工作回顾").
            named = period_of(name) if PART_HEADING.match(name) else None
            opens_part = level == 1 or named is not None and (
                " " in named or named.partition(" ")[0] != period.partition(" ")[0]
            )
            if opens_part:
                period = named or period_of(name)
            just_opened_part = opens_part
            continue
        if BYLINE.match(line.text):
            flush("paragraph", paragraph)
            headings.clear()
            period = PERIOD_INTRO
            pieces.append(("byline", line.start, line.end, (), period))
            continue
        if BULLET.match(line.text):
            flush("slogan", slogan)
            flush("paragraph", paragraph)
            body_start = line.start + BULLET.match(line.text).end()
            pieces.append(("bullet", body_start, line.end, tuple(h for _, h in headings), period))
            just_opened_part = False
            continue
        if just_opened_part and len(line.text) <= SHORT_LINE and _is_heading_like(line.text):
            slogan.append(line)  # the short motto lines right under a part heading
            continue
        flush("slogan", slogan)
        just_opened_part = False
        if blank_before:
            flush("paragraph", paragraph)
        paragraph.append(line)
    flush("slogan", slogan)
    flush("paragraph", paragraph)

    chunks, seen = [], set()
    for kind, start, end, path, chunk_period in pieces:
        chunk_id = _chunk_id(doc_id, path, text[start:end], seen)
        chunks.append(Chunk(
            id=chunk_id, doc=doc_id, kind=kind, heading_path=path, period=chunk_period,
            start=start, end=end, text=text[start:end], sentences=split_sentences(text, start, end),
            page=bisect.bisect_right(pages, start) if pages else None,
        ))
    return title, chunks


def _chunk_id(doc_id: str, path: tuple[str, ...], text: str, seen: set[str]) -> str:
    """Stable across rebuilds: derived from the heading path and text, not from position."""
    digest = hashlib.sha1(("\n".join(path) + "\n" + text).encode()).hexdigest()[:8]
    chunk_id, n = f"{doc_id}:{digest}", 1
    while chunk_id in seen:
        n += 1
        chunk_id = f"{doc_id}:{digest}-{n}"
    seen.add(chunk_id)
    return chunk_id
