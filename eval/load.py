"""Bounded load test of the chat app on loopback: simulated residents ask the eval set's
questions (follow-ups with their history) through gradio_client's `/ask`, each pausing
to read between questions, for a fixed time; then it stops by itself and prints
throughput, latency percentiles, errors and the server's peak memory.

By default it starts its own server (a temporary data folder, the usual model and index
cache) and stops it at the end; `--url` drives one already running on 127.0.0.1 instead
(`--pid` then names its process for the memory figure). Each simulated resident sends
its own X-Forwarded-For address, as a reverse proxy on the same host would, so the
per-client rate limit applies to each resident separately.

    python -m nanhai_qa.eval.load                       # 50 residents, 60 s, 2-8 s reading time
    python -m nanhai_qa.eval.load --think 0 0 --no-rate-limit   # saturation: no pauses, no limit

Exit status 1 when any request failed."""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import psutil

from .server import LocalServer
from .sets import EVAL_SET

MAX_USERS, MAX_SECONDS = 200, 600


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: int = 0
    rate_limited: int = 0
    exchanges: list[int] = field(default_factory=list)  # the log's id of each answer received
    lock: threading.Lock = field(default_factory=threading.Lock)


class JsonClient:
    """POST /v1/ask: one stateless request per question (what a proxy may send to any replica)."""

    def __init__(self, url: str, address: str) -> None:
        self.url, self.address = url.rstrip("/") + "/v1/ask", address

    def predict(self, question: str, history: list, api_name: str = "/ask") -> dict:
        body = json.dumps({"question": question, "history": history}).encode()
        headers = {"Content-Type": "application/json", "X-Forwarded-For": self.address}
        with urllib.request.urlopen(urllib.request.Request(self.url, body, headers), timeout=120) as response:
            return json.loads(response.read())


def resident(number: int, url: str, items: list[dict], deadline: float, think: tuple[float, float],
             tally: Tally, rate_message: str, via: str = "gradio") -> None:
    from gradio_client import Client

    rng = random.Random(number)
    time.sleep(rng.uniform(0, think[1]))  # residents arrive over the first pause, not all in one instant
    address = f"10.0.{number // 250}.{number % 250 + 1}"
    try:
        client = JsonClient(url, address) if via == "json" else Client(
            url, verbose=False, headers={"X-Forwarded-For": address})
    except Exception as e:  # noqa: BLE001 - every failure is counted and reported
        with tally.lock:
            tally.errors.append(f"connect: {type(e).__name__}: {e}")
        return
    while time.time() < deadline:
        item = rng.choice(items)
        started = time.perf_counter()
        try:
            result = client.predict(item["question"], item.get("history") or [], api_name="/ask")
            problem = result.get("error") if isinstance(result, dict) else f"unexpected reply {result!r:.80}"
        except Exception as e:  # noqa: BLE001
            result, problem = {}, f"{type(e).__name__}: {e}"
        elapsed = (time.perf_counter() - started) * 1000
        with tally.lock:
            if problem and rate_message in problem:
                tally.rate_limited += 1
            elif problem:
                tally.errors.append(problem)
            else:
                tally.latencies_ms.append(elapsed)
                tally.refused += bool(result.get("refused"))
                tally.exchanges.append(result.get("exchange"))
        time.sleep(max(0.0, min(rng.uniform(*think), deadline - time.time())))


def peak_memory(pid: int, stop: threading.Event, peak: list[float]) -> None:
    """Samples the server's resident memory (with any child processes) every 0.2 s."""
    process = psutil.Process(pid)
    while not stop.wait(0.2):
        try:
            rss = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
        except psutil.Error:
            return
        peak[0] = max(peak[0], rss / 2**20)


def cpu_seconds(pid: int | None) -> float:
    """User and system CPU time of process `pid` (None: this one), children included."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system + times.children_user + times.children_system


def on_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, nargs=2, default=[2.0, 8.0], metavar=("MIN", "MAX"),
                        help="seconds each resident pauses between questions (uniform)")
    parser.add_argument("--url", help="a running app on 127.0.0.1 (default: start one)")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, for its memory")
    parser.add_argument("--no-rate-limit", action="store_true", help="start the server without the rate limit")
    parser.add_argument("--processes", type=int, default=4, help="worker processes the residents are spread over")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--via", choices=["gradio", "json"], default="gradio",
                        help="gradio_client's /ask (default), or plain POST /v1/ask")
    args = parser.parse_args()
    if not (1 <= args.users <= MAX_USERS and 0 < args.seconds <= MAX_SECONDS and 1 <= args.processes <= 16):
        parser.error(f"--users must be 1…{MAX_USERS}, --seconds at most {MAX_SECONDS}, --processes 1…16")
    if args.url and not on_loopback(args.url):
        parser.error("load tests target loopback only (127.0.0.1)")
    from nanhai_qa.app.prompts import prompt

    rate_message = prompt("error_rate_limited").split("{")[0]
    items = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines() if line.strip()]

    server = None
    with tempfile.TemporaryDirectory(prefix="nanhai-load-") as data_dir:
        if not args.url:
            env = {"NANHAI_QA_SERVER__RATE_LIMIT_PER_MINUTE": "0"} if args.no_rate_limit else {}
            print("Starting the app …", file=sys.stderr, flush=True)
            server = LocalServer(Path(data_dir), env).start()
        url, pid = (args.url, args.pid) if args.url else (server.url, server.pid)
        try:
            figures = run(url, pid, items, args, rate_message)
        finally:
            if server:
                server.stop()
    print_figures(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 1 if figures["errors"] else 0


def residents(numbers: list[int], url: str, items: list[dict], deadline: float, think: tuple[float, float],
              rate_message: str, via: str) -> dict:
    """One worker process's residents, each in a thread; returns what they saw and its CPU time."""
    tally = Tally()
    threads = [
        threading.Thread(target=resident, args=(n, url, items, deadline, think, tally, rate_message, via),
                         daemon=True)
        for n in numbers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:  # a request in flight at the deadline may finish; bounded all the same
        thread.join(timeout=max(0.0, deadline - time.time()) + 120)
    with tally.lock:
        return {"latencies_ms": list(tally.latencies_ms), "errors": list(tally.errors), "refused": tally.refused,
                "rate_limited": tally.rate_limited, "exchanges": list(tally.exchanges), "cpu_s": cpu_seconds(None)}


def run(url: str, pid: int | None, items: list[dict], args: argparse.Namespace, rate_message: str) -> dict:
    stop, peak = threading.Event(), [0.0]
    if pid:
        threading.Thread(target=peak_memory, args=(pid, stop, peak), daemon=True).start()
    server_cpu = cpu_seconds(pid)
    started = time.time()
    deadline = started + args.seconds
    # Residents are spread over worker processes: in one process, 50 gradio_client threads
    # would wait on each other for Python's global lock, and the script would measure itself.
    shares = [list(range(args.users))[i :: args.processes] for i in range(args.processes)]
    with ProcessPoolExecutor(max_workers=args.processes) as pool:
        seen = list(pool.map(residents, *zip(*[
            (share, url, items, deadline, tuple(args.think), rate_message, args.via) for share in shares if share
        ], strict=True)))
    elapsed = time.time() - started
    stop.set()
    server_cpu = cpu_seconds(pid) - server_cpu
    answered = [ms for part in seen for ms in part["latencies_ms"]]
    errors = [e for part in seen for e in part["errors"]]
    latencies = np.array(answered or [0.0])
    return {
        "users": args.users, "via": args.via, "seconds": round(elapsed, 1), "think_s": list(args.think),
        "answers": len(answered), "throughput_per_s": round(len(answered) / elapsed, 2),
        "latency_ms": {f"p{q}": round(float(np.percentile(latencies, q)), 1) for q in (50, 95, 99)},
        "errors": len(errors), "error_examples": sorted(set(errors))[:5],
        "refused": sum(part["refused"] for part in seen), "rate_limited": sum(part["rate_limited"] for part in seen),
        "server_peak_rss_mb": round(peak[0], 1) if pid else None,
        # The server and this script's clients share this machine's cores; the server's CPU
        # time per answer tells what it could serve alone.
        "server_cpu_ms_per_answer": round(server_cpu * 1000 / max(1, len(answered)), 1) if pid else None,
        "load_script_cores_busy": round(sum(part["cpu_s"] for part in seen) / elapsed, 2),
        "cores": psutil.cpu_count(),
        "exchanges": [e for part in seen for e in part["exchanges"]],
    }


def print_figures(f: dict) -> None:
    latency = f["latency_ms"]
    print(f"{f['users']} residents for {f['seconds']} s (reading {f['think_s'][0]}–{f['think_s'][1]} s, "
          f"asking through {'POST /v1/ask' if f['via'] == 'json' else 'gradio_client'})")
    print(f"answers {f['answers']}  throughput {f['throughput_per_s']}/s  "
          f"latency p50 {latency['p50']} ms  p95 {latency['p95']} ms  p99 {latency['p99']} ms")
    print(f"errors {f['errors']}  refused {f['refused']}  rate-limited {f['rate_limited']}  "
          f"server peak memory {f['server_peak_rss_mb']} MB")
    print(f"server CPU per answer {f['server_cpu_ms_per_answer']} ms; this script kept "
          f"{f['load_script_cores_busy']} of {f['cores']} cores busy")
    for example in f["error_examples"]:
        print(f"  error: {example}")


if __name__ == "__main__":
    sys.exit(main())
