"""The chat page and its API on a real Gradio server (loopback, a free port), driven by
gradio_client and by a real Chromium through Playwright."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from nanhai_qa.app.prompts import prompt
from nanhai_qa.app.storage.exchange_log import ExchangeLog
from nanhai_qa.eval.server import LocalServer
from tests.conftest import (
    OUTPUT,
    STAFF,
    ask_in_page,
    client_of,
    open_page,
    open_staff_desk,
    server_with,
    wait_for_staff_table,
)


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory) -> Iterator[LocalServer]:
    server = server_with(tmp_path_factory.mktemp("data"), STAFF).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def public_server(tmp_path_factory) -> Iterator[LocalServer]:
    server = server_with(tmp_path_factory.mktemp("data"), {}).start()
    yield server
    server.stop()


def _quotes_are_verbatim(result: dict, article) -> None:
    for citation in result["citations"]:
        assert article.text[citation["start"] : citation["end"]] == citation["quote"]


def test_api_answers_with_citations_and_refuses(staff_server, article):
    client = client_of(staff_server)
    number = client.predict("2022年新认定了几家隐形冠军企业？", [], api_name="/ask")
    assert "39家" in number["answer"] and number["citations"] and len(number["retrieved"]) >= 5
    listing = client.predict("今年乡村振兴怎么做？", [], api_name="/ask")
    assert len(listing["citations"]) == 4 and "宅基地" in listing["answer"]
    history = [{"role": "user", "content": "去年大地艺术节办了吗？"}, {"role": "assistant", "content": "成功举办。"}]
    follow_up = client.predict("那今年呢？", history, api_name="/ask")
    assert "持续举办大地艺术节" in follow_up["answer"]
    refused = client.predict("南海区区长叫什么名字？", [], api_name="/ask")
    assert refused["refused"] and not refused["citations"] and "没有提到" in refused["answer"]
    for result in (number, listing, follow_up):
        _quotes_are_verbatim(result, article)
    bad = client.predict("", None, api_name="/ask")
    assert bad["error"]


def test_only_the_ask_endpoint_is_exposed(public_server, staff_server):
    for server in (public_server, staff_server):
        api = client_of(server).view_api(print_info=False, return_format="dict")
        assert list(api["named_endpoints"]) == ["/ask"] and not api["unnamed_endpoints"]
        parameters = [p["parameter_name"] for p in api["named_endpoints"]["/ask"]["parameters"]]
        assert parameters == ["question", "history"]  # the client's address is not a parameter


def test_browser_marker_click_highlights_the_quoted_span(browser, staff_server):
    page = open_page(browser, staff_server)
    ask_in_page(page, "2022年新认定了几家隐形冠军企业？")
    marker = page.locator("#chat a.cite").first
    assert marker.inner_text() == "[1]"
    marker.click()
    page.wait_for_selector(".cite-span.active", timeout=10_000)
    page.wait_for_function(  # smooth scrolling has brought the span into the article view
        """() => {
            const span = document.querySelector('.cite-span.active').getBoundingClientRect();
            const view = document.querySelector('#article').getBoundingClientRect();
            return view.top <= span.top && span.top <= view.bottom;
        }""", timeout=10_000)
    active = page.locator(".cite-span.active")
    assert "新认定隐形冠军企业39家" in active.inner_text()
    assert active.is_visible()
    box, view = active.bounding_box(), page.locator("#article").bounding_box()
    assert view["y"] <= box["y"] <= view["y"] + view["height"]  # scrolled into the article view
    assert "回顾2022年" in page.locator("#sources").inner_text()  # heading path and period beside it
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "chat-marker-click.png"))
    page.close()


def test_browser_shows_script_as_text(browser, staff_server):
    page = open_page(browser, staff_server)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ask_in_page(page, "<script>alert('x')</script><img src=x onerror=alert(2)>")
    user_bubble = page.locator("#chat .message.user").last
    assert "<script>alert('x')</script>" in user_bubble.inner_text()
    assert "没看懂" in page.locator("#chat .message.bot").last.inner_text()  # markup is not a question
    assert page.locator("#chat script, #chat img[src='x']").count() == 0
    assert dialogs == []
    page.close()


def test_staff_tab_absent_without_credentials(browser, public_server):
    page = open_page(browser, public_server)
    assert page.get_by_role("tab", name="引用核查").count() == 0
    page.close()


def test_staff_desk_lists_exchanges_with_checks_and_feedback_survives_restart(browser, staff_server, tmp_path):
    client_of(staff_server).predict("2022年新认定了几家隐形冠军企业？", [], api_name="/ask")  # API exchanges are logged
    client_of(staff_server).predict("南海今年在足球方面有什么打算？", [], api_name="/ask")  # a word the article lacks
    page = open_page(browser, staff_server)
    ask_in_page(page, "高企数量突破了多少家？")
    page.locator("#chat button[aria-label='Dislike']").last.click()
    log = ExchangeLog(staff_server.data_dir / "exchanges.sqlite3")
    deadline = time.monotonic() + 20  # the 👎 reaches the log
    while log.recent(limit=1, disliked_only=True) == [] and time.monotonic() < deadline:
        time.sleep(0.1)

    page.get_by_role("tab", name="引用核查").click()
    page.fill("#staff-user :is(input, textarea)", "staff")
    page.fill("#staff-password :is(input, textarea)", "wrong")
    page.click("#staff-login")
    # Wait for the refusal: Gradio ignores a second click while the first is pending.
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=prompt("staff_login_failed"),
                           timeout=20_000)
    assert page.locator("#staff-table").count() == 0 or not page.locator("#staff-table").is_visible()
    open_staff_desk(page)
    table = wait_for_staff_table(page, "高企数量突破了多少家")
    assert "✓ 1/1" in table and "👎" in table
    assert "2022年新认定了几家隐形冠军企业" in table
    assert table.index("高企数量突破了多少家") < table.index("2022年新认定了几家隐形冠军企业")  # newest first
    assert "足球 ×1" in page.locator("#staff-unmentioned").inner_text()  # what residents ask that no document covers
    page.get_by_label("只看问到文中没有的词").check()
    page.wait_for_function("() => !document.querySelector('#staff-table').innerText.includes('高企数量突破了多少家')",
                           timeout=20_000)
    assert "南海今年在足球方面有什么打算" in page.locator("#staff-table").inner_text()
    page.close()

    staff_server.stop()  # feedback was committed to SQLite: it survives a restart
    staff_server.start()
    with sqlite3.connect(staff_server.data_dir / "exchanges.sqlite3") as db:
        rows = db.execute("SELECT question, feedback FROM exchanges WHERE feedback IS NOT NULL").fetchall()
        assert ("高企数量突破了多少家？", -1) in rows
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    api = client_of(staff_server).predict("高企数量突破了多少家？", [], api_name="/ask")
    assert "3600家" in api["answer"]


def test_browser_lists_documents_and_opens_a_cited_pdf_at_its_page(browser, tmp_path_factory):
    import json

    from tests.test_documents import PDF_PAGES, print_pdf

    folder = tmp_path_factory.mktemp("corpus")
    print_pdf(folder / "venues.pdf", PDF_PAGES, "南海文体场馆简介", browser)
    (folder / "notes.txt").write_text("丹灶镇简报\n\n丹灶镇今年种植荔枝树五千棵。\n", encoding="utf-8")
    server = server_with(tmp_path_factory.mktemp("data"), {"NANHAI_QA_CORPUS": json.dumps([str(folder)])}).start()
    try:
        page = open_page(browser, server)
        page.get_by_text("资料清单（2 份）").click()
        listing = page.locator("#documents").inner_text()
        assert "南海文体场馆简介" in listing and "PDF" in listing and "2 页" in listing and "丹灶镇简报" in listing
        ask_in_page(page, "九江的游泳馆有几条泳道？")
        assert "（《南海文体场馆简介》）" in page.locator("#chat .message.bot").last.inner_text()
        assert "第 2 页" in page.locator("#sources").inner_text()
        page.locator("#chat a.cite").first.click()
        page.wait_for_selector(".cite-span.active", timeout=10_000)
        assert "泳道" in page.locator(".cite-span.active").inner_text()
        view = page.locator("#article").inner_text()
        assert view.startswith("南海文体场馆简介") and "第 2 页" in view  # the cited PDF, its pages marked
        page.close()
    finally:
        server.stop()


def test_plain_json_ask_answers_from_any_replica(public_server, article):
    """POST /v1/ask: one stateless request per question, the same object as `ask --json`, plus its exchange id."""
    def post(body: bytes) -> tuple[int, dict]:
        request = urllib.request.Request(f"{public_server.url}/v1/ask", body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    status, reply = post(json.dumps({"question": "高企数量突破了多少家？"}).encode())
    assert status == 200 and "3600家" in reply["answer"] and isinstance(reply["exchange"], int)
    assert all(article.text[c["start"] : c["end"]] == c["quote"] for c in reply["citations"])
    history = [{"role": "user", "content": "今年教育方面有什么计划？"}, {"role": "assistant", "content": "…"}]
    status, reply = post(json.dumps({"question": "那医疗呢？", "history": history}).encode())
    assert status == 200 and "医" in reply["query"]
    status, reply = post(json.dumps({"question": "x", "history": "not a list"}).encode())
    assert status == 200 and reply["error"] and not reply["citations"]
    status, reply = post(b"[1, 2]")
    assert status == 422 and reply["detail"]
