"""Documents of every kind a district office keeps, many at once: a PDF printed by the
headless Chromium, a Word file written with python-docx, a web page with navigation and
footer, plain texts with and without a title line, and one broken file of each kind. Read,
indexed with the real model, and asked about."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nanhai_qa.app.answering.engine import build_engine
from nanhai_qa.app.answering.overview import MAX_DOCUMENTS
from nanhai_qa.app.cli import main as cli_main
from nanhai_qa.app.prompts import ENGLISH, TRADITIONAL, prompt, render
from nanhai_qa.app.settings import Settings
from nanhai_qa.ingest import ExtractionCache, IngestError, read_document, read_documents
from nanhai_qa.ingest.formats import READERS, UnreadableFile, read_html

from .conftest import CHROMIUM, CHROMIUM_FLAGS, TEST_CACHE

PDF_PAGES = [  # (heading, text) of each page
    ("图书馆", "狮山镇图书馆于三月开放，馆内藏书约十二万册，设有少儿阅读区。"),
    ("游泳馆", "九江镇新建的游泳馆共有八条泳道，夏季每天开放到晚上十点。"),
]
HTML_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>南海资讯网 - 交通</title>
<style>.x{color:red}</style></head><body>
<header><div class="logo">南海资讯网</div></header>
<nav><a href="/">首页</a><a href="/news">新闻</a><a href="/gov">政务</a></nav>
<main><h1>南海交通建设</h1><p>桂城至大沥的快速路全长十四公里，
计划年底通车。</p><h2>公交</h2><ul><li>新开公交线路六条</li><li>更新电动公交车两百辆</li></ul></main>
<aside>相关新闻：某某活动</aside>
<footer>版权所有 © 南海资讯网 粤ICP备12345678号 联系电话 0757-0000</footer>
<script>var tracking = 1;</script></body></html>"""


def print_pdf(path: Path, pages: list[tuple[str, str]], title: str, browser=None) -> None:
    """Print one page per (heading, text) with Chromium (the given browser, or one started here)."""
    body = "".join(f'<section style="page-break-after: always"><h2>{heading}</h2><p>{text}</p></section>'
                   for heading, text in pages)
    if browser is None:
        playwright = pytest.importorskip("playwright.sync_api")
        with playwright.sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            print_pdf(path, pages, title, chromium)
            chromium.close()
        return
    page = browser.new_page()
    page.set_content(f"<html><head><title>{title}</title></head><body>{body}</body></html>")
    page.pdf(path=str(path), format="A4")
    page.close()


def write_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "西樵镇旅游工作总结"
    document.add_heading("西樵镇旅游工作总结", level=0)
    document.add_heading("一、游客", level=1)
    document.add_paragraph("全年接待游客三百二十万人次，比上年增长百分之十五。")
    document.add_paragraph("新增民宿四十家", style="List Bullet")
    document.add_heading("二、景区", level=1)
    table = document.add_table(rows=2, cols=2)
    for (row, col), text in {(0, 0): "景区", (0, 1): "门票", (1, 0): "西樵山", (1, 1): "票价六十元"}.items():
        table.cell(row, col).text = text
    document.save(str(path))


def encrypted_pdf(source: Path, path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt("secret")
    writer.write(path)


def scanned_pdf(path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)  # a page with no text layer, as a scan has
    writer.write(path)


BROKEN = {
    "gbk.txt": "不是 UTF-8",
    "empty.txt": "空文件",
    "broken.pdf": "已损坏",
    "locked.pdf": "已加密",
    "scanned.pdf": "没有文字层",
    "broken.docx": "已损坏",
    "gbk.html": "没有声明编码",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("documents")
    print_pdf(root / "venues.pdf", PDF_PAGES, "南海文体场馆简介")
    write_docx(root / "tourism.docx")
    (root / "traffic.html").write_text(HTML_PAGE, encoding="utf-8")
    (root / "titled.txt").write_text("丹灶镇简报\n\n丹灶镇今年种植荔枝树五千棵。\n", encoding="utf-8")
    # A first line that is the whole text is body, not title (and an empty line before it).
    (root / "untitled.txt").write_text("\n里水镇的花卉博览会每年二月举办，展期七天。\n", encoding="utf-8")
    (root / "gbk.txt").write_bytes("大沥镇的铝型材产业。".encode("gbk"))
    (root / "empty.txt").write_bytes(b"")
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage")
    encrypted_pdf(root / "venues.pdf", root / "locked.pdf")
    scanned_pdf(root / "scanned.pdf")
    (root / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (root / "gbk.html").write_bytes("<html><body><p>丹灶镇的五金产业。</p></body></html>".encode("gbk"))
    return root


@pytest.fixture(scope="module")
def documents(folder):
    skipped = []
    docs = read_documents([folder], on_skip=skipped.append)
    return {d.id: d for d in docs}, skipped


def test_each_kind_is_read_with_its_title_and_exact_offsets(documents):
    docs, _ = documents
    assert sorted(docs) == ["titled", "tourism", "traffic", "untitled", "venues"]
    assert {d: docs[d].kind for d in docs} == {
        "titled": "text", "tourism": "docx", "traffic": "html", "untitled": "text", "venues": "pdf"}
    assert docs["venues"].title == "南海文体场馆简介"  # the PDF's metadata
    assert docs["tourism"].title == "西樵镇旅游工作总结"
    assert docs["traffic"].title == "南海交通建设"  # the first h1, not <title> with the site's name
    assert docs["titled"].title == "丹灶镇简报"
    assert docs["untitled"].title == "untitled" and "花卉博览会" in docs["untitled"].chunks[0].text
    for doc in docs.values():
        for chunk in doc.chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text
            for sentence in chunk.sentences:
                assert doc.text[sentence.start : sentence.end] == sentence.text


def test_pdf_pages_docx_structure_and_html_main_text(documents):
    docs, _ = documents
    venues = docs["venues"]
    assert len(venues.pages) == 2
    pool = next(c for c in venues.chunks if "泳道" in c.text)
    assert pool.page == 2 and venues.page_at(pool.start) == 2
    assert pool.heading_path == ("游泳馆",)  # a heading known by its larger font
    assert "游泳馆共有八条泳道" in pool.text.replace(" ", "")
    tourism = docs["tourism"]
    visitors = next(c for c in tourism.chunks if "游客" in c.text and "万人次" in c.text)
    assert visitors.heading_path == ("一、游客",)
    assert any(c.kind == "bullet" and c.text == "新增民宿四十家" for c in tourism.chunks)
    assert any("西樵山 | 票价六十元" in c.text for c in tourism.chunks)  # a table row, cells kept together
    traffic = docs["traffic"].text
    assert "快速路全长十四公里，计划年底通车。" in traffic  # the line break inside Chinese is not a space
    for boilerplate in ("首页", "ICP", "相关新闻", "tracking", "color"):
        assert boilerplate not in traffic
    bus = next(c for c in docs["traffic"].chunks if "电动公交车" in c.text)
    assert bus.kind == "bullet" and bus.heading_path == ("公交",)


def test_each_broken_file_is_named_once_with_its_reason_and_skipped(documents, folder):
    _, skipped = documents
    assert sorted(s.path.name for s in skipped) == sorted(BROKEN)
    for file in skipped:
        assert BROKEN[file.path.name] in file.reason, file
        assert "\n" not in str(file) and str(file).startswith(f"跳过 {file.path}")
    assert (folder / "gbk.txt").read_bytes() == "大沥镇的铝型材产业。".encode("gbk")  # read, never written


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_file_given_alone_fails_with_one_line(folder, name):
    with pytest.raises(IngestError) as error:
        read_documents([folder / name])
    assert BROKEN[name] in str(error.value) and "\n" not in str(error.value)


def test_page_furniture_of_plain_divs_is_left_out(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><div><a href='/'>首页</a> <a href='/a'>新闻中心</a> <a href='/b'>政务公开</a></div>"
        "<div class='content'><p>里水镇新建公园三座，<a href='/p'>详见</a>附表。</p></div>"
        "<div id='bottom'>版权所有 联系我们</div></body></html>", encoding="utf-8")
    assert read_html(page).text == "里水镇新建公园三座，详见附表。"  # a link inside the text stays


def test_extractions_are_cached_under_the_files_checksum(folder, tmp_path, monkeypatch):
    cache = ExtractionCache(tmp_path / "extracted")
    first = {d.id: d for d in read_documents([folder], cache=cache)}
    assert len(list((tmp_path / "extracted").glob("*.json"))) == 3  # the PDF, the Word file, the web page

    def unreachable(path, data=None):  # only files that could not be read are parsed again
        assert path.name in BROKEN, f"{path} parsed again"
        assert data == path.read_bytes()  # from the bytes already read for the checksum
        raise UnreadableFile("still broken")

    for suffix in (".pdf", ".docx", ".html"):
        monkeypatch.setitem(READERS, suffix, unreachable)
    again = {d.id: d for d in read_documents([folder], cache=cache, on_skip=lambda skipped: None)}
    assert again == first


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    (cache / "models").symlink_to(TEST_CACHE / "models")  # the converted model, shared with the other tests
    return cache


@pytest.fixture(scope="module")
def engine(folder, cache_dir):
    return build_engine(Settings(corpus=[folder], storage={"cache_dir": cache_dir}), log=lambda message: None)


@pytest.mark.parametrize(("question", "doc", "page", "words"), [
    ("九江的游泳馆有几条泳道？", "venues", 2, "八条泳道"),
    ("狮山图书馆有多少藏书？", "venues", 1, "十二万册"),
    ("西樵全年接待了多少游客？", "tourism", None, "三百二十万"),
    ("桂城到大沥的快速路有多长？", "traffic", None, "十四公里"),
    ("丹灶种了多少荔枝树？", "titled", None, "五千棵"),
    ("里水花卉博览会什么时候办？", "untitled", None, "二月"),
])
def test_answers_cite_the_right_document_page_and_span(engine, question, doc, page, words):
    answer = engine.answer(question)
    assert not answer.refused, answer.answer
    first = answer.citations[0]
    document = engine.retriever.corpus.documents[first.doc]
    assert first.doc == doc and first.page == page
    assert document.text[first.start : first.end] == first.quote
    assert words in first.quote.replace(" ", "")
    # Several documents: each quoted line names its document; plain documents get no period lead-in.
    assert f"《{document.title}》" in answer.answer and prompt("period_intro") not in answer.answer
    assert answer.to_json()["citations"][0]["page"] == page


def test_wording_follows_the_askers_script(engine):
    traditional = engine.answer("月球上的環形山有多深？")
    assert traditional.refused and traditional.answer.startswith(prompt("refusal", TRADITIONAL))
    english = engine.answer("How deep are the craters on the moon?")
    assert english.refused and english.answer.startswith(prompt("refusal", ENGLISH))
    quoted = engine.answer("九江的游泳館有幾條泳道？")
    assert not quoted.refused and "泳道" in quoted.citations[0].quote  # quotes stay as the source wrote them
    assert "（《南海文体场馆简介》）" in quoted.answer.translate(str.maketrans("體館", "体馆"))


def test_a_question_about_the_documents_as_a_whole_gets_how_each_opens(engine):
    documents = engine.retriever.corpus.documents
    answer = engine.answer("这些文档讲了什么？")
    shown = min(len(documents), MAX_DOCUMENTS)
    wording = "overview_documents" if shown == len(documents) else "overview_some_documents"
    assert not answer.refused and answer.answer.startswith(render(wording, count=len(documents), shown=shown))
    assert len({c.doc for c in answer.citations}) == len(answer.citations) == shown
    for citation in answer.citations:
        document = documents[citation.doc]
        assert document.text[citation.start : citation.end] == citation.quote
        assert f"《{document.title}》" in answer.answer


def test_index_command_names_documents_and_skipped_files(folder, engine, cache_dir, capsys):
    assert cli_main(["index", "--corpus", str(folder), "--cache-dir", str(cache_dir)]) == 0
    out = capsys.readouterr().out
    for doc in ("venues", "tourism", "traffic", "titled", "untitled"):
        assert f"indexed {doc} " in out
    for name in BROKEN:
        assert out.count(f"跳过 {folder / name}") == 1
    assert "5 document(s), 7 file(s) skipped" in out
    ask = ["ask", "--corpus", str(folder), "--cache-dir", str(cache_dir), "--json", "西樵山门票多少钱？"]
    assert cli_main(ask) == 0
    answer = json.loads(capsys.readouterr().out)
    assert any(c["doc"] == "tourism" and "六十元" in c["quote"] for c in answer["citations"])


def test_changing_one_document_re_embeds_only_that_document(folder, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc in ("titled.txt", "untitled.txt", "traffic.html", "tourism.docx"):
        (corpus / doc).write_bytes((folder / doc).read_bytes())
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "models").symlink_to(TEST_CACHE / "models")
    settings = Settings(corpus=[corpus], storage={"cache_dir": cache})
    first = build_engine(settings, log=lambda message: None).retriever.corpus
    assert first.manifest["embedded"] > 10
    (corpus / "titled.txt").write_text("丹灶镇简报\n\n丹灶镇今年种植龙眼树八千棵。\n", encoding="utf-8")
    messages: list[str] = []
    again = build_engine(settings, log=messages.append)
    # The changed paragraph (one sentence: its text is embedded once), nothing else.
    assert 1 <= again.retriever.corpus.manifest["embedded"] <= 2
    assert any("new or changed texts embedded" in m for m in messages)
    answer = again.answer("丹灶种了多少龙眼树？")
    assert answer.citations and "八千棵" in answer.citations[0].quote
    assert read_document(corpus / "titled.txt").title == "丹灶镇简报"
