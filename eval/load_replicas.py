"""`make load-replicas`: the reference deployment (deploy/) run on loopback, bounded, and
stopped at the end. A throwaway PostgreSQL cluster (eval/postgres.py), nginx from Debian with
deploy/nginx.conf (its ports rewritten to free ones), and three replicas serving the index
built once, read-only, into one exchange log.

1. One replica alone, the same settings, no proxy: the single-process figures.
2. Three replicas behind nginx, the same residents: throughput and latency; errors must be 0;
   every answer received is in PostgreSQL exactly once, and nothing else is.
3. Replicas behind nginx again, and one is killed (`kill -9`) half way: the residents it
   served move to the others; every answer received before or after is in PostgreSQL.

    python -m nanhai_qa.eval.load_replicas                 # 100 residents, 60 s a phase
    python -m nanhai_qa.eval.load_replicas --users 20 --seconds 15

Exit status 1 when a check fails."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .load import print_figures, run
from .postgres import TemporaryPostgres
from .server import LocalServer, free_port
from .sets import EVAL_SET

NGINX_CONF = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"
REPLICAS = 3


def nginx_config(runtime: Path, port: int, replica_ports: list[int]) -> Path:
    """deploy/nginx.conf inside a minimal main context, listening on loopback, pointing at the replicas."""
    site = NGINX_CONF.read_text(encoding="utf-8")
    servers = itertools.cycle(replica_ports)  # each upstream lists the replicas in the same order
    site = re.sub(r"server 127\.0\.0\.1:\d+", lambda m: f"server 127.0.0.1:{next(servers)}", site)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    temp = "\n".join(f"    {kind}_temp_path {runtime / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                             "scgi"))
    config = runtime / "nginx.conf"
    config.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 2;\npid {runtime / 'nginx.pid'};\nerror_log {runtime / 'error.log'} warn;\n"
        + "events { worker_connections 1024; }\n"
        + f"http {{\n    access_log off;\n{temp}\n{site}\n}}\n",
        encoding="utf-8",
    )
    return config


def exchange_ids(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url) as connection:
        return [row[0] for row in connection.execute("SELECT id FROM exchanges")]


def start_replicas(count: int, folder: Path, database_url: str, rate_limit: bool = True) -> list[LocalServer]:
    env = {"NANHAI_QA_STORAGE__DATABASE_URL": database_url, "NANHAI_QA_STORAGE__INDEX_READONLY": "true"}
    if not rate_limit:
        env["NANHAI_QA_SERVER__RATE_LIMIT_PER_MINUTE"] = "0"
    replicas = [LocalServer(folder / f"replica-{n}", env) for n in range(count)]
    threads = [threading.Thread(target=r.start) for r in replicas]  # they load the model side by side
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if not all(r.process and r.process.poll() is None and r.url for r in replicas):
        raise RuntimeError("a replica did not start")
    return replicas


def check_log(name: str, figures: dict, logged: list[int], complete: bool) -> list[str]:
    """What is wrong with the log against the answers received (exactly once when `complete`)."""
    received = [e for e in figures["exchanges"] if e is not None]
    problems = []
    if len(received) != figures["answers"]:
        problems.append(f"{name}: {figures['answers'] - len(received)} answers came without their exchange id")
    if missing := set(received) - set(logged):
        problems.append(f"{name}: {len(missing)} answered exchanges are not in PostgreSQL")
    if len(set(received)) != len(received):
        problems.append(f"{name}: an exchange id was received twice")
    if complete and len(logged) != len(received):
        problems.append(f"{name}: PostgreSQL holds {len(logged)} exchanges for {len(received)} answers")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60, help="each phase")
    parser.add_argument("--think", type=float, nargs=2, default=[2.0, 8.0], metavar=("MIN", "MAX"))
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--via", choices=["json", "gradio"], default="json",
                        help="plain POST /v1/ask, sent to any replica (default), or gradio_client's /ask (sticky)")
    parser.add_argument("--no-rate-limit", action="store_true", help="the replicas without the app's limit")
    args = parser.parse_args()
    if not (1 <= args.users <= 200 and 0 < args.seconds <= 300):
        parser.error("--users must be 1…200 and --seconds at most 300")
    if not shutil.which("nginx"):
        parser.error("nginx is missing: apt-get install -y nginx (make load-replicas installs it)")
    from nanhai_qa.app.prompts import prompt

    rate_message = prompt("error_rate_limited").split("{")[0]
    items = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    print("Building the index once (nanhai-qa index) …", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "nanhai_qa", "index"], check=True, stdout=subprocess.DEVNULL)

    results: dict[str, dict] = {}
    problems: list[str] = []
    with TemporaryPostgres() as cluster, tempfile.TemporaryDirectory(prefix="nanhai-replicas-") as work:
        folder = Path(work)
        print("1. one replica alone …", file=sys.stderr, flush=True)
        single_url = cluster.new_database()
        (single,) = start_replicas(1, folder / "single", single_url, not args.no_rate_limit)
        try:
            results["one replica"] = run(single.url, single.pid, items, args, rate_message)
        finally:
            single.stop()
        problems += check_log("one replica", results["one replica"], exchange_ids(single_url), complete=True)

        for phase, kill in (("three replicas behind nginx", False), ("… one killed half way", True)):
            print(f"{len(results) + 1}. {phase} …", file=sys.stderr, flush=True)
            database_url = cluster.new_database()
            replicas = start_replicas(REPLICAS, folder / f"phase-{len(results)}", database_url, not args.no_rate_limit)
            runtime = folder / f"nginx-{len(results)}"
            runtime.mkdir()
            proxy_port = free_port()
            config = nginx_config(runtime, proxy_port, [int(r.url.rsplit(":", 1)[1]) for r in replicas])
            nginx = subprocess.Popen(["nginx", "-c", str(config), "-g", "daemon off;"], stderr=subprocess.PIPE)
            killer = None
            try:
                time.sleep(1.0)
                if nginx.poll() is not None:
                    raise RuntimeError(f"nginx did not start: {nginx.stderr.read().decode()}")
                if kill:  # half way through, the first replica dies without a word
                    killer = threading.Timer(args.seconds / 2, replicas[0].kill)
                    killer.start()
                results[phase] = run(f"http://127.0.0.1:{proxy_port}", None, items, args, rate_message)
            finally:
                if killer:
                    killer.cancel()
                nginx.terminate()
                nginx.wait(timeout=30)
                for replica in replicas:
                    replica.stop()
            problems += check_log(phase, results[phase], exchange_ids(database_url), complete=not kill)
            if not kill and results[phase]["errors"]:
                problems.append(f"{phase}: {results[phase]['errors']} requests failed")
            if kill and results[phase]["answers"] <= results["one replica"]["answers"] // 4:
                problems.append(f"{phase}: the other replicas did not keep serving")

    for phase, figures in results.items():
        print(f"\n## {phase}")
        print_figures(figures)
    single, proxied = results["one replica"], results["three replicas behind nginx"]
    print(f"\nthroughput: one replica {single['throughput_per_s']}/s, three behind nginx "
          f"{proxied['throughput_per_s']}/s (same {args.users} residents, same machine: {single['cores']} cores)")
    for problem in problems:
        print(f"FAILED: {problem}")
    print("checks: " + ("all passed" if not problems else f"{len(problems)} failed"))
    if args.json:
        args.json.write_text(json.dumps({p: {k: v for k, v in f.items() if k != "exchanges"}
                                         for p, f in results.items()}, indent=1))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
