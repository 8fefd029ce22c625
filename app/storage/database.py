"""Where the exchange log lives: one SQLite file (one process, the default) or PostgreSQL
(several replicas sharing one log). Both are reached through the same small interface, so
the exchange log's SQL is written once (with `?` placeholders), and both are created or
migrated at start to the schema version the code expects."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

# Each step brings the schema one version up; a log records the version it is at.
SCHEMA_STEPS: list[list[str]] = [
    [  # 1: exchanges, and every source text answered from, by its sha256
        """CREATE TABLE exchanges (
            id {id},
            time TEXT NOT NULL,
            question TEXT NOT NULL,
            history_length INTEGER NOT NULL,
            answer TEXT NOT NULL,
            citations TEXT NOT NULL,      -- JSON list, as in the batch schema
            refused INTEGER NOT NULL,
            latency_ms {real} NOT NULL,
            feedback INTEGER,             -- 1 = 👍, -1 = 👎, NULL = none
            sources TEXT NOT NULL,        -- JSON {{doc id: sha256 of its text}} at answer time
            error TEXT
        )""",
        "CREATE INDEX exchanges_time ON exchanges(time)",
        "CREATE TABLE sources (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL)",
    ],
    [  # 2: which settings and wordings answered
        "ALTER TABLE exchanges ADD COLUMN settings_hash TEXT",
        "ALTER TABLE exchanges ADD COLUMN prompts_version TEXT",
    ],
    [  # 3: rate-limit buckets shared by replicas (app/ratelimit.py)
        """CREATE TABLE rate_buckets (
            name TEXT NOT NULL,
            client TEXT NOT NULL,
            tokens {real} NOT NULL,
            at {real} NOT NULL,
            allowed INTEGER NOT NULL,
            PRIMARY KEY (name, client)
        )""",
    ],
    [  # 4: the question's words no document uses (JSON list; NULL when none, and before)
        "ALTER TABLE exchanges ADD COLUMN unmentioned TEXT",
    ],
]
SCHEMA_VERSION = len(SCHEMA_STEPS)


class DatabaseUnavailable(Exception):
    """The database cannot be opened or reached; the message says which and why, in one line."""


class Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...


class Database(Protocol):
    url: str  # without any password

    def transaction(self) -> AbstractContextManager[Connection]:
        """A context manager giving a Connection whose work is committed when the block ends
        without error (durably: before the caller goes on), rolled back otherwise."""

    def close(self) -> None: ...


def open_database(url: str, pool_size: int = 4) -> Database:
    """`sqlite:///PATH` or `postgresql://…`, created or migrated to SCHEMA_VERSION."""
    if url.startswith("sqlite://"):
        return SQLiteDatabase(Path(url.removeprefix("sqlite://")))
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url, pool_size)
    raise DatabaseUnavailable(f"the database URL must start with sqlite:/// or postgresql://, not {masked(url)!r}")


def masked(url: str) -> str:
    """The URL without its password (postgresql://user:secret@host → postgresql://user:***@host)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _steps(id_type: str, real_type: str) -> list[list[str]]:
    return [[sql.format(id=id_type, real=real_type) for sql in step] for step in SCHEMA_STEPS]


class SQLiteDatabase:
    """One file in WAL mode; one short connection per operation (Gradio calls from many
    threads); synchronous=FULL, so a committed exchange survives a crash or a kill."""

    STEPS = _steps("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite://{path}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate()
        except (OSError, sqlite3.Error) as e:
            raise DatabaseUnavailable(f"cannot open the exchange log {path}: {e}") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = _dict_row
        try:
            db.execute("PRAGMA synchronous=FULL")
            with db:  # commits, or rolls back on error
                yield db
        finally:
            db.close()

    def _migrate(self) -> None:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")  # one process migrates at a time
            version = _version(db) if _has_table(db, "schema_version") else self._unversioned(db)
            for step in self.STEPS[version:]:
                for sql in step:
                    db.execute(sql)
            _set_version(db)
            db.execute("COMMIT")
        finally:
            db.close()

    @staticmethod
    def _unversioned(db: sqlite3.Connection) -> int:
        """Logs written before versioning: 0 when empty, else read from their columns."""
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        if not _has_table(db, "exchanges"):
            return 0
        columns = {row[1] for row in db.execute("PRAGMA table_info(exchanges)")}
        return 2 if "settings_hash" in columns else 1  # the versions before versioning

    def close(self) -> None:
        pass


class PostgresDatabase:
    """A psycopg 3 connection pool. Each transaction commits before the caller goes on
    (synchronous_commit on, PostgreSQL's default): the same durability as the SQLite log."""

    STEPS = _steps("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "DOUBLE PRECISION")
    MIGRATION_LOCK = 7_012_023  # an advisory lock id: replicas starting together migrate one at a time

    def __init__(self, url: str, pool_size: int = 4, timeout: float = 10.0) -> None:
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool, PoolTimeout

        self.url = masked(url)
        self._pool = ConnectionPool(url, min_size=1, max_size=max(1, pool_size), kwargs={"row_factory": dict_row},
                                    open=False, name="exchange-log")
        try:
            self._pool.open(wait=True, timeout=timeout)
            self._migrate()
        except (PoolTimeout, psycopg.Error) as e:
            self._pool.close()
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DatabaseUnavailable(f"cannot use the database {self.url}: {reason}") from None
        except DatabaseUnavailable:
            self._pool.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[_PostgresConnection]:
        with self._pool.connection() as connection:  # commits at the end, rolls back on error
            yield _PostgresConnection(connection)

    def _migrate(self) -> None:
        with self.transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(?)", (self.MIGRATION_LOCK,))
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            version = _version(db)
            for step in self.STEPS[version:]:
                for sql in step:
                    db.execute(sql)
            _set_version(db)

    def close(self) -> None:
        self._pool.close()


class _PostgresConnection:
    """The exchange log's SQL, written with `?`, passed to psycopg as `%s`."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._connection.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        with self._connection.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)


def _dict_row(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def _has_table(db: Any, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _version(db: Any) -> int:
    row = db.execute("SELECT max(version) AS version FROM schema_version").fetchone()
    version = _first(row)
    if version is not None and version > SCHEMA_VERSION:
        raise DatabaseUnavailable(f"the exchange log is at schema version {version}, newer than this code's "
                                  f"{SCHEMA_VERSION}: update nanhai-qa")
    return version or 0


def _set_version(db: Any) -> None:
    db.execute("DELETE FROM schema_version")
    db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))


def _first(row: Any) -> Any:
    if row is None:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]
