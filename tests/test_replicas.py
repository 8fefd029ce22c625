"""Several replicas: one PostgreSQL exchange log shared by two real servers, and replicas that
serve an index built once, refusing to start without it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from nanhai_qa.app.ratelimit import RateLimiter, SharedRateLimiter, limiter_for
from nanhai_qa.app.settings import DEFAULT_CORPUS, Settings
from nanhai_qa.app.storage.database import open_database
from tests.conftest import (
    STAFF,
    TEST_CACHE,
    client_of,
    open_page,
    open_staff_desk,
    server_with,
    wait_for_staff_table,
)

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
INSTALLED_COMMAND = "/opt/nanhai-qa/.venv/bin/nanhai-qa"  # where deploy/'s units expect the install


def test_two_replicas_share_one_postgresql_log(browser, postgres, engine, tmp_path):
    """Both replicas serve the test cache's index read-only (the engine fixture built it)."""
    env = {**STAFF, "NANHAI_QA_STORAGE__DATABASE_URL": postgres.new_database(),
           "NANHAI_QA_STORAGE__INDEX_READONLY": "true"}
    replicas = [server_with(tmp_path / name, env).start() for name in ("a", "b")]
    try:
        client_of(replicas[0]).predict("高企数量突破了多少家？", [], api_name="/ask")
        client_of(replicas[1]).predict("2022年新认定了几家隐形冠军企业？", [], api_name="/ask")
        for replica in replicas:  # the staff desk on either lists both replicas' exchanges
            page = open_page(browser, replica)
            open_staff_desk(page)
            table = wait_for_staff_table(page, "高企数量突破了多少家", "2022年新认定了几家隐形冠军企业")
            assert table.count("✓ 1/1") == 2
            page.close()
        assert not any((tmp_path / name / "exchanges.sqlite3").exists() for name in ("a", "b"))
    finally:
        for replica in replicas:
            replica.stop()


def serve_read_only(cache_dir, corpus, tmp_path) -> subprocess.CompletedProcess:
    env_args = {"NANHAI_QA_STORAGE__INDEX_READONLY": "true", "NANHAI_QA_STORAGE__DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-m", "nanhai_qa", "serve", "--port", "0", "--cache-dir", str(cache_dir),
         "--corpus", str(corpus)],
        env={**os.environ, **env_args}, capture_output=True, text=True, timeout=300,
    )


def test_a_read_only_replica_without_a_current_index_stops_in_one_line(engine, tmp_path):
    """It stops at start, in one line, when its cache holds no index or one of another text.
    The converted model is copied from the test cache, which the engine fixture filled."""
    corpus = tmp_path / "nanhai-2023.txt"
    shutil.copy(DEFAULT_CORPUS, corpus)
    empty = serve_read_only(tmp_path / "empty-cache", corpus, tmp_path)
    assert empty.returncode == 2 and "Traceback" not in empty.stderr
    assert empty.stderr.strip().splitlines()[-1].startswith("error: the index at ")
    assert "no index built yet; build it with `nanhai-qa index`" in empty.stderr

    # Built once for this corpus (the index command ignores the read-only setting), then the text changes.
    cache = tmp_path / "cache"
    shutil.copytree(TEST_CACHE / "models", cache / "models")
    settings = Settings(corpus=[corpus], storage={"cache_dir": cache})
    built = subprocess.run([sys.executable, "-m", "nanhai_qa", "index", "--corpus", str(corpus), "--cache-dir",
                            str(cache)], capture_output=True, text=True, timeout=600,
                           env={**os.environ, "NANHAI_QA_STORAGE__INDEX_READONLY": "true"})
    assert built.returncode == 0 and settings.index_dir().is_dir(), built.stderr
    corpus.write_text(corpus.read_text(encoding="utf-8").replace("39家", "40家"), encoding="utf-8")
    stale = serve_read_only(cache, corpus, tmp_path)
    assert stale.returncode == 2 and "Traceback" not in stale.stderr
    assert "the source documents changed; build it with `nanhai-qa index`" in stale.stderr.strip().splitlines()[-1]


def test_a_clients_limit_holds_across_replicas(postgres, tmp_path):
    url = postgres.new_database()
    now = [1_000.0]
    replicas = [SharedRateLimiter(open_database(url, pool_size=8), "questions", per_minute=6, burst=3,
                                  clock=lambda: now[0]) for _ in range(2)]
    first, second = replicas
    assert [first.wait_seconds("10.0.0.1"), second.wait_seconds("10.0.0.1"), first.wait_seconds("10.0.0.1")] == [0] * 3
    assert second.wait_seconds("10.0.0.1") == pytest.approx(10.0)  # the fourth waits, on either replica
    assert first.wait_seconds("10.0.0.2") == 0  # another client has its own bucket …
    login = SharedRateLimiter(first.database, "staff-login", per_minute=6, burst=3, clock=lambda: now[0])
    assert login.wait_seconds("10.0.0.1") == 0  # … and another limit its own
    now[0] += 10  # 6 a minute: one token every 10 s
    assert second.wait_seconds("10.0.0.1") == 0 and first.wait_seconds("10.0.0.1") > 0

    # Twenty requests at once through both replicas' pools: exactly the burst gets through.
    with ThreadPoolExecutor(8) as pool:
        waits = list(pool.map(lambda i: replicas[i % 2].wait_seconds("10.0.0.3"), range(20)))
    assert waits.count(0.0) == 3

    # Buckets that have refilled are forgotten (every PRUNE_EVERY requests), and a forgotten
    # client starts again with a full bucket, as before.
    rows = "SELECT count(*) AS n FROM rate_buckets WHERE name = ?"
    with first.database.transaction() as db:
        assert db.execute(rows, ("questions",)).fetchone()["n"] == 3
    now[0] += 31  # 3 tokens at one every 10 s: every bucket of this limit is full again
    first.wait_seconds("10.0.0.4")
    assert first.forget_full(now[0]) == 3  # 10.0.0.1-3; 10.0.0.4 was just used
    with first.database.transaction() as db:
        assert db.execute(rows, ("questions",)).fetchone()["n"] == 1
        assert db.execute(rows, ("staff-login",)).fetchone()["n"] == 1  # another limit's rows stay
    assert [second.wait_seconds("10.0.0.1") for _ in range(3)] == [0] * 3 and second.wait_seconds("10.0.0.1") > 0
    pruning = SharedRateLimiter(first.database, "pruned", per_minute=6, burst=3, clock=lambda: now[0])
    pruning.PRUNE_EVERY = 2
    pruning.wait_seconds("a")
    now[0] += 31
    pruning.wait_seconds("b")  # the second request prunes "a"
    with first.database.transaction() as db:
        assert db.execute(rows, ("pruned",)).fetchone()["n"] == 1

    assert isinstance(limiter_for(first.database, "questions", 6, 3), SharedRateLimiter)
    assert isinstance(limiter_for(open_database(f"sqlite://{tmp_path / 'log.sqlite3'}"), "q", 6, 3), RateLimiter)


def test_the_systemd_units_verify(tmp_path):
    """deploy/'s units as systemd itself reads them (systemd-analyze verify: unknown keys,
    bad values, a command that is not there), with the path of this checkout's command."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze (Debian package systemd) is not installed")
    command = Path(sys.executable).parent / "nanhai-qa"
    for unit in DEPLOY.glob("*.service"):
        name = unit.name.replace("@.", "@7861.")  # a template is verified as one of its instances
        (tmp_path / name).write_text(unit.read_text(encoding="utf-8").replace(INSTALLED_COMMAND, str(command)),
                                     encoding="utf-8")
    units = sorted(p.name for p in tmp_path.iterdir())
    assert len(units) == 2
    verified = subprocess.run([analyze, "verify", *units], cwd=tmp_path, capture_output=True, text=True)
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    serve = subprocess.run([str(command), "serve", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--host" in serve and "--port" in serve  # the flags the replica unit passes
