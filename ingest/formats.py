"""Text out of each kind of file. Every reader returns the text the rest of the system
works on (stored with the index; all offsets point into it) with its structure written as
Markdown does: "# " … "###### " heading lines, "- " list items, blank lines between
paragraphs, table rows as "cell | cell". The chunker (structure.py) reads that back.

Libraries, compared on Chinese documents (README, "Documents"): pypdf for PDF, python-docx
for Word, lxml for web pages."""

from __future__ import annotations

import io
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .patterns import CLOSING, HAN, SENTENCE_ENDS

EXTRACTION_VERSION = 1  # raise when a reader's output changes: cached extractions are then redone


class UnreadableFile(Exception):
    """The file cannot be read as its kind; the message says why, for the user."""


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str = ""  # from the file's metadata ("" when it has none)
    kind: str = "text"
    pages: tuple[int, ...] = ()  # PDF: offset in `text` where each page starts


CJK = f"\u3000-\u303f{HAN}\uff00-\uffef"  # characters printed full width
BREAK_BETWEEN_CJK = re.compile(f"(?<=[{CJK}])[^\\S\n]*\n\\s*(?=[{CJK}])")
LINE_ENDS = tuple(SENTENCE_ENDS + "：:")  # a line ending so was not broken for width
LINE_CLOSING = CLOSING + "】"
FONT_CHANGE_SPACE = re.compile(f"(?<=[{CJK}]) (?=[!-~])|(?<=[!-~]) (?=[{CJK}])")
HEADING_SIZE_RATIO = 1.1
HEADING_MAX_WIDTH = 40


def tidy(text: str) -> str:
    """One line of running text: whitespace collapsed to one space, and none where a line
    break falls between two CJK characters (the source's own line wrapping, not a space)."""
    return re.sub(r"\s+", " ", BREAK_BETWEEN_CJK.sub("", text)).strip()


def read_text_file(path: Path) -> Extracted:
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UnreadableFile(f"不是 UTF-8 编码的文本（第 {e.start} 字节附近），请另存为 UTF-8") from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise UnreadableFile("含有 NUL 字符，看起来不是文本文件")
    return Extracted(text, kind="markdown" if path.suffix.lower() == ".md" else "text")


# --- PDF ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PdfLine:
    text: str
    size: float  # the font size most of its characters are set in


def unwrap(lines: list[str], heading_levels: list[int] | None = None) -> list[str]:
    """Join the lines a PDF broke for width back into paragraphs: a line as long as the
    page's longest (within 80%) that does not end a sentence runs on into the next. Short
    lines (last lines of paragraphs) end their paragraph; a heading (level > 0, from its font
    size) stands alone as a Markdown heading."""
    levels = heading_levels or [0] * len(lines)
    lines = [line.strip() for line in lines]
    widest = max((_width(line) for line, level in zip(lines, levels, strict=True) if not level), default=0)
    out: list[str] = []
    runs_on = False
    for line, level in zip(lines, levels, strict=True):
        if not line:
            runs_on = False
            continue
        if level:
            out.append("#" * level + " " + line)
            runs_on = False
            continue
        if runs_on and out:
            joiner = "" if re.match(f"[{CJK}]", line) or re.search(f"[{CJK}]$", out[-1]) else " "
            out[-1] += joiner + line
        else:
            out.append(line)
        runs_on = _width(line) >= 0.8 * widest and not line.rstrip(LINE_CLOSING).endswith(LINE_ENDS)
    return out


def _width(line: str) -> float:
    """Printed width in CJK characters: a Latin letter or digit is about half of one. Spaces
    do not count (a letter-spaced heading is no wider for them)."""
    return sum(1.0 if re.match(f"[{CJK}]", c) else 0.5 for c in line if not c.isspace())


def _page_lines(page) -> list[PdfLine]:
    """The page's text lines, each with its font size (pypdf hands each run of text to the
    visitor with its size; the runs put together are exactly the extracted text)."""
    lines: list[PdfLine] = []
    text, sizes = "", Counter()

    def visit(run: str, cm, tm, font, size: float) -> None:
        nonlocal text, sizes
        scaled = round(size * math.hypot(tm[2], tm[3]), 1)  # Tf 1 scaled by the text matrix is common
        for n, piece in enumerate(run.split("\n")):
            if n:
                lines.append(PdfLine(text, sizes.most_common(1)[0][0] if sizes else 0.0))
                text, sizes = "", Counter()
            text += piece
            sizes[scaled] += len(piece.strip())

    page.extract_text(visitor_text=visit)
    lines.append(PdfLine(text, sizes.most_common(1)[0][0] if sizes else 0.0))
    # Latin letters and digits are set in another font than Chinese, and the gap between
    # the two runs comes out as a space ("昭和 40 年（ 1965 年）"): Chinese text has none there.
    return [PdfLine(FONT_CHANGE_SPACE.sub("", line.text), line.size) for line in lines]


def heading_levels(pages: list[list[PdfLine]]) -> dict[float, int]:
    """Font size → heading level: sizes clearly larger (≥ 1.1×) than the body text's (the
    size most characters are set in) are headings, the largest level 1."""
    by_size: Counter = Counter()
    for line in (line for page in pages for line in page):
        by_size[line.size] += len(line.text.strip())
    if not by_size:
        return {}
    body = by_size.most_common(1)[0][0]
    larger = sorted((size for size in by_size if size >= HEADING_SIZE_RATIO * body), reverse=True)
    return {size: min(level, 6) for level, size in enumerate(larger, 1)}


def read_pdf(path: Path, data: bytes | None = None) -> Extracted:
    """`data`: the file's bytes when the caller has read them already (ExtractionCache)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file is reported once, below
    try:
        reader = PdfReader(path if data is None else io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile("PDF 已加密，需要密码")
        pages = [_page_lines(page) for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except UnreadableFile:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, NotImplementedError) as e:
        if isinstance(e, OSError) and not isinstance(e, EOFError):
            raise UnreadableFile(f"无法读取：{e.strerror or e}") from None
        raise UnreadableFile(f"PDF 文件已损坏，无法解析（{type(e).__name__}）") from None
    if not any(line.text.strip() for page in pages for line in page):
        raise UnreadableFile("PDF 没有文字层（扫描件？），需要先做文字识别（OCR）")
    levels = heading_levels(pages)
    text, starts = "", []
    for page in pages:
        starts.append(len(text))
        # A heading is a short line in a larger font; a long one is display text, kept as body.
        page_levels = [levels.get(line.size, 0) if _width(line.text) <= HEADING_MAX_WIDTH else 0 for line in page]
        text += "\n".join(unwrap([line.text for line in page], page_levels)) + "\n\n"
    return Extracted(text, title=title, kind="pdf", pages=tuple(starts))


# --- Word -----------------------------------------------------------------------------------

def read_docx(path: Path, data: bytes | None = None) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path) if data is None else io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as e:
        raise UnreadableFile(f"Word 文件已损坏或不是 .docx（{type(e).__name__}）") from None
    except Exception as e:  # a zip that is not a Word file fails in many ways inside python-docx
        raise UnreadableFile(f"Word 文件已损坏，无法解析（{type(e).__name__}）") from None
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    lines: list[str] = []
    for element in document.element.body.iterchildren():
        if element.tag.endswith("}p"):
            lines.append(_docx_paragraph(Paragraph(element, document)))
        elif element.tag.endswith("}tbl"):
            lines.append("")
            for row in Table(element, document).rows:
                cells = _unique(tidy(cell.text) for cell in row.cells)
                lines.append(" | ".join(c for c in cells if c))
            lines.append("")
    text = "\n".join(_paragraph_breaks(lines))
    return Extracted(text, title=(document.core_properties.title or "").strip(), kind="docx")


def _docx_paragraph(paragraph) -> str:
    text = tidy(paragraph.text)
    if not text:
        return ""
    style = paragraph.style.name if paragraph.style is not None else ""
    if style == "Title":
        return f"# {text}"
    if m := re.fullmatch(r"Heading (\d)", style):
        return "#" * min(int(m.group(1)) + 1, 6) + " " + text
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    return f"- {text}" if numbered or style.startswith("List") else text


# --- Web pages ------------------------------------------------------------------------------

BOILERPLATE_TAGS = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
                    "iframe", "svg", "button", "select")
BOILERPLATE_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search")
BOILERPLATE_NAMES = {"nav", "navbar", "navigation", "menu", "header", "footer", "foot", "bottom", "sidebar",
                     "breadcrumb", "breadcrumbs", "crumb", "copyright", "share", "toolbar", "topbar", "banner",
                     "related", "login", "search", "advert", "ads"}
LINK_LIST_CONTAINERS = {"div", "ul", "ol", "table", "section", "td", "p", "span", "dl"}
LINK_SHARE = 0.5  # a block whose text is mostly links is a menu or a list of other pages
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
DECLARED_CHARSET = re.compile(rb"<meta[^>]+charset", re.I)
HEADINGS = {f"h{n}": n for n in range(1, 7)}
BLOCKS = {"p", "div", "section", "article", "main", "blockquote", "pre", "dd", "dt", "figcaption", "ul", "ol",
          "table", "tbody", "thead", "dl", "center", "address", "body"}


def read_html(path: Path, data: bytes | None = None) -> Extracted:
    import lxml.html
    from lxml import etree

    data = _read_bytes(path) if data is None else data
    if not data.strip():
        raise UnreadableFile("是空文件")
    try:  # UTF-8 unless the page declares its own encoding, which lxml then follows
        markup: str | bytes = XML_DECLARATION.sub("", data.decode("utf-8").removeprefix("\ufeff"), count=1)
    except UnicodeDecodeError:
        if not DECLARED_CHARSET.search(data[:4096]):
            raise UnreadableFile("不是 UTF-8 编码，网页里也没有声明编码（charset）") from None
        markup = data
    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError) as e:
        raise UnreadableFile(f"网页无法解析（{e}）") from None
    page_title = tidy(root.findtext(".//title") or "")
    unvisited = list(root)  # what is dropped is not looked into
    while unvisited:
        element = unvisited.pop()
        if _boilerplate(element):
            element.drop_tree()
        else:
            unvisited.extend(element)
    etree.strip_elements(root, etree.Comment, with_tail=False)
    main = next(iter(root.xpath("//main | //article")), None)
    lines: list[str] = []
    _html_lines(main if main is not None else root, lines)
    # The page's first h1 names the document; <title> often adds the site's name.
    first = root.find(".//h1")
    title = tidy(first.text_content()) if first is not None else page_title
    return Extracted("\n".join(_paragraph_breaks(lines)), title=title, kind="html")


def _boilerplate(element) -> bool:
    """Page furniture, not the page's text: navigation, header, footer and sidebars, known by
    their tag or role, by a conventional class or id (many sites build them of plain divs), or
    by being mostly links (menus, "related" lists)."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in BOILERPLATE_TAGS or element.get("role") in BOILERPLATE_ROLES:
        return True
    names = set(re.split(r"[-_\s]+", f"{element.get('class', '')} {element.get('id', '')}".lower()))
    if tag not in ("html", "body", "main", "article") and names & BOILERPLATE_NAMES:
        return True
    if tag in LINK_LIST_CONTAINERS:
        links = element.findall(".//a")
        if len(links) >= 3:
            text = len(tidy(element.text_content()))
            return text == 0 or sum(len(tidy(a.text_content())) for a in links) >= LINK_SHARE * text
    return False


def _html_lines(element, lines: list[str]) -> None:
    """Block elements become lines (headings as "#"…, list items as "- ", table rows as cells
    joined by " | "); the text of inline elements runs on inside its block."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in HEADINGS:
        lines += ["", "#" * HEADINGS[tag] + " " + tidy(element.text_content()), ""]
        return
    if tag == "li":
        lines.append("- " + tidy(element.text_content()))
        return
    if tag == "tr":
        cells = _unique(tidy(c.text_content()) for c in element if c.tag in ("td", "th"))
        lines.append(" | ".join(c for c in cells if c))
        return
    if tag in ("p", "br") or tag in BLOCKS:
        lines.append("")
    if element.text and tag != "br":
        _run_on(lines, element.text)
    for child in element:
        _html_lines(child, lines)
        if child.tail:
            if child.tag in BLOCKS or child.tag in HEADINGS or child.tag in ("li", "tr", "br"):
                lines.append("")
            _run_on(lines, child.tail)
    if tag == "p" or tag in BLOCKS:
        lines.append("")


def _run_on(lines: list[str], text: str) -> None:
    """Inline text continues the current line as the page has it (tidied once the line ends)."""
    if not lines:
        lines.append("")
    lines[-1] += text


# --- shared ---------------------------------------------------------------------------------

def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise UnreadableFile(f"无法读取：{e.strerror or e}") from None


def _unique(items) -> list[str]:
    """Merged table cells repeat their text in each cell they span: keep it once."""
    out: list[str] = []
    for item in items:
        if not out or item != out[-1]:
            out.append(item)
    return out


def _paragraph_breaks(lines: list[str]) -> list[str]:
    """Each block on its own line with a blank line between paragraphs (list items and table
    rows stay together), no runs of blank lines."""
    out: list[str] = []
    for line in lines:
        line = tidy(line)
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        joins = out and out[-1] and (line.startswith("- ") and out[-1].startswith("- ") or
                                     " | " in line and " | " in out[-1])
        if out and out[-1] and not joins:
            out.append("")
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


READERS = {".txt": read_text_file, ".md": read_text_file, ".pdf": read_pdf, ".docx": read_docx,
           ".html": read_html, ".htm": read_html}
