"""A throwaway PostgreSQL cluster in a temporary folder, on a free loopback port, for the
tests and `make load-replicas`: Debian's `postgresql` package (`initdb`, `pg_ctl`), run as a
non-root user (PostgreSQL refuses root: as root, as in CI, it runs as the `postgres` user the
package creates). Stopped and removed when the `with` block ends."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from .server import free_port


class PostgresMissing(Exception):
    """Debian's postgresql package is not installed; the message says how to install it."""


def postgres_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise PostgresMissing(f"{name} is missing: apt-get install -y postgresql (see Makefile, `postgres`)")
    return found


class TemporaryPostgres:
    def __init__(self) -> None:
        self.folder: Path | None = None
        self.port = 0
        self.url = ""

    def __enter__(self) -> TemporaryPostgres:
        self.folder = Path(tempfile.mkdtemp(prefix="nanhai-qa-pg-"))
        self.port = free_port()
        data = self.folder / "data"
        as_user: list[str] = []
        if os.geteuid() == 0:
            as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.folder, "postgres")
            self.folder.chmod(0o700)
        try:
            self._run([*as_user, postgres_binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                       "-E", "UTF8", "--locale=C", "--no-sync"])
            options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=on"
            self._run([*as_user, postgres_binary("pg_ctl"), "-D", str(data), "-o", options,
                       "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start"])
        except BaseException:
            self.__exit__()
            raise
        self._as_user = as_user
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        return self

    def new_database(self) -> str:
        """The URL of a new, empty database in this cluster."""
        import psycopg

        name = f"db_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + "/" + name

    def __exit__(self, *exc: object) -> None:
        if self.folder is None:
            return
        data = self.folder / "data"
        if (data / "postmaster.pid").exists():
            as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            subprocess.run([*as_user, postgres_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    @staticmethod
    def _run(command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])} … failed:\n{done.stdout}\n{done.stderr}")
