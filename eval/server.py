"""The chat app as a separate process on a free loopback port, for the tests and the load
script: they drive it from outside, as residents' browsers do."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """`nanhai-qa serve` on 127.0.0.1; its output goes to DATA_DIR/server-PORT.log.

    `env` is added to this process's environment; keys mapped to None are removed."""

    def __init__(self, data_dir: Path, env: dict[str, str | None] | None = None) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, "NANHAI_QA_STORAGE__DATA_DIR": str(data_dir), "NANHAI_QA_SERVER__HOST": "127.0.0.1"}
        for key, value in (env or {}).items():
            if value is None:
                self.env.pop(key, None)
            else:
                self.env[key] = value
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.log_path: Path | None = None

    def start(self, timeout: float = 300) -> LocalServer:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{port}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "nanhai_qa", "serve", "--port", str(port)], env=self.env,
                stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent,
            )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped:\n{self.output()}")
            try:
                urllib.request.urlopen(self.url, timeout=2)
                return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"the server did not come up in {timeout:.0f} s:\n{self.output()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.is_file() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """kill -9: no chance to clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
