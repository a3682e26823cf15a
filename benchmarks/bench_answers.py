"""Benchmark: the worker answer endpoint against the stack's practical limit, in one server.

One run starts one gunicorn (the compose command: 3 workers × 4 threads, DEBUG=false) on
PostgreSQL and Redis, with one benchmark-only URL added (``benchmarks/answers_server``):
``POST /bench/write/`` inserts one row in a transaction and answers JSON, the practical limit of
an acknowledged write here. Then:

1. **Saturated closed loop** (``--connections`` keep-alive connections, each sending its next
   request as soon as the last is answered), in rounds that alternate the three endpoints so
   drifting load falls on all alike: ``GET /api/health/``, ``POST /bench/write/`` and the real
   ``POST /w/<token>/api/answers`` (each answer a fresh position of a fresh participant,
   sentinels answered right). Prints requests/s per endpoint and the ratios answer/write and
   answer/health, from the best rounds and as the median of the per-round ratios.
2. **Paced participants** (``--paced`` people, each answering every ``--pace`` seconds with
   jitter, as humans do): the server-side time of every answer from gunicorn's access log
   (``%(D)s``, request start to response end in the worker), p50/p95/p99.
3. **Worker memory**: a researcher's walk through every admin list and add page and the API's
   list endpoints, then the resident size (VmRSS) of each gunicorn worker.

Every answer sent is checked against the database at the end: acknowledged (201) answers equal
stored rows, and none is stored twice.

Run it (figures in docs/performance.md come from this)::

    .venv/bin/python benchmarks/bench_answers.py            # about 4 minutes
    .venv/bin/python benchmarks/bench_answers.py --quick    # a smoke run, under a minute

It (re)creates the PostgreSQL database ``--database`` (default ``perceptlab_bench_answers``) and
uses Redis database 14 for the cache and throttles. Exit status 1 when a target is missed:
answers ≥ 50 % of the durable write, paced p99 < 100 ms, worker RSS < 300 MB, or an answer was
lost or duplicated.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0
TARGET_RSS_MB = 300.0
OWNER, OWNER_PASSWORD = "bench-researcher", "bench-password-123"


def server_env(args) -> dict:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=f"{ROOT / 'platform'}{os.pathsep}{ROOT}",
        DJANGO_SETTINGS_MODULE="benchmarks.answers_server.settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        REDIS_URL=args.redis_url,
        CELERY_BROKER_URL=args.redis_url,
        DEBUG="false",
        SECRET_KEY="bench-answers-secret-key-not-for-production-0123456789",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        THROTTLE_CROWD_ANSWER="100000/minute",
    )
    return env


# ---------------------------------------------------------------------------------------------
# Preparation (a Django process of its own; the load generator never imports Django)
# ---------------------------------------------------------------------------------------------

PREPARE = r"""
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from crowd import services
from tests.factories import make_live_study
from benchmarks.answers_server.urls import TABLE

n_participants, trials, size = (int(v) for v in sys.argv[1:4])
owner_name, owner_password = sys.argv[4:6]
owner = get_user_model().objects.create_user(
    owner_name, password=owner_password, is_staff=True, is_superuser=True
)
with connection.cursor() as cursor:
    cursor.execute(f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, payload jsonb NOT NULL, "
                   "created_at timestamptz NOT NULL DEFAULT now())")
study = make_live_study(owner, trials=trials, sentinels=max(2, trials // 10), practice=2,
                        needed=30000, assignment_size=size, max_assignments_per_participant=1)
people = []
for n in range(n_participants):
    assignment = services.participant_enter(
        study=study, entry=services.Entry("prolific", f"bench-{n}", session_id=f"session-{n}"))
    items = []
    for item in assignment.items.select_related("trial").order_by("position"):
        options = services.ANSWERS[item.trial.kind]
        right = [a for a in options if services._choice(item, a) == item.trial.expected]
        items.append([item.position, right[0] if right else options[n % len(options)]])
    people.append({"token": assignment.token, "items": items})
    if n % 50 == 0:
        print(f"participants {n}/{n_participants}", file=sys.stderr, flush=True)
json.dump({"study": study.pk, "people": people}, sys.stdout)
"""

VERIFY = r"""
import json, sys
import django
django.setup()
from django.db.models import Count
from crowd.models import Response
sent = json.load(open(sys.argv[1]))
stored = set(str(u) for u in Response.objects.values_list("client_uuid", flat=True))
twice = Response.objects.values("item").annotate(n=Count("id")).filter(n__gt=1).count()
acked = set(sent["acked"])
print(json.dumps({"stored": len(stored), "acked": len(acked), "lost": len(acked - stored),
                  "unacked_but_stored": len(stored - acked), "items_twice": twice}))
"""


def run_django(args, code: str, *argv: str) -> str:
    result = subprocess.run(
        [PYTHON, "-c", code, *argv],
        env=server_env(args),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"benchmark set-up failed:\n{result.stderr[-4000:]}")
    return result.stdout


def prepare(args) -> dict:
    admin = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c"]
    subprocess.run([*admin, f'DROP DATABASE IF EXISTS "{args.database}"'], check=True)
    subprocess.run([*admin, f'CREATE DATABASE "{args.database}"'], check=True)
    subprocess.run(
        ["redis-cli", "-u", args.redis_url, "FLUSHDB"], check=True, stdout=subprocess.DEVNULL
    )
    print("migrating a fresh database …", flush=True)
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"],
        env=server_env(args),
        cwd=ROOT,
        check=True,
    )
    print(f"creating a live study and {args.participants} participants …", flush=True)
    return json.loads(
        run_django(
            args,
            PREPARE,
            str(args.participants),
            str(args.trials),
            str(args.items),
            OWNER,
            OWNER_PASSWORD,
        )
    )


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, args, log_dir: Path):
        self.port = free_port()
        self.access_log = log_dir / "access.log"
        self.error_log = log_dir / "error.log"
        command = [
            str(Path(PYTHON).with_name("gunicorn")),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--access-logfile",
            str(self.access_log),
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(D)s",
            "--error-logfile",
            str(self.error_log),
        ]
        self.process = subprocess.Popen(command, env=server_env(args), cwd=ROOT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _ = request(Connection(self.port), "GET", "/api/health/")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        sys.exit(f"gunicorn did not come up; see {self.error_log}")

    def worker_pids(self) -> list[str]:
        return subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split()

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
        return sizes

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def postgres_pids(database: str) -> list[str]:
    """PostgreSQL's processes that work for the benchmark: the postmaster and its auxiliary
    processes (WAL writer, checkpointer, …) and the backends of `database`, not other databases'
    (a backend's title names its database)."""
    pids = []
    for pid in subprocess.run(
        ["pgrep", "-x", "postgres"], capture_output=True, text=True
    ).stdout.split():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        backend = re.search(r"postgres: \S+: \S+ (\S+) ", title)
        if backend is None or backend.group(1) == database:
            pids.append(pid)
    return pids


def cpu_seconds(server: Server, database: str) -> dict[str, dict[str, float]]:
    """CPU seconds used so far, per process, by the server's processes (gunicorn's master and
    workers), by PostgreSQL's for the benchmark's database (`postgres_pids`) and by Redis's."""
    groups = {
        "gunicorn": [server.process.pid, *server.worker_pids()],
        "postgres": postgres_pids(database),
        "redis": subprocess.run(
            ["pgrep", "-x", "redis-server"], capture_output=True, text=True
        ).stdout.split(),
    }
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, dict[str, float]] = {}
    for name, pids in groups.items():
        used[name] = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # exited meanwhile
                continue
            used[name][str(pid)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return used


def cpu_used(before: dict[str, float], after: dict[str, float]) -> float:
    """CPU seconds the processes used between two `cpu_seconds` samples of one group. A process
    that exited in between adds nothing (what it used after the first sample is lost: a lower
    bound); one that started adds all it used. (A PostgreSQL backend per connection comes and
    goes: subtracting whole groups' totals went negative when one exited.)"""
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


class Connection(http.client.HTTPConnection):
    def __init__(self, port: int):
        super().__init__("127.0.0.1", port, timeout=30)


def request(conn, method: str, path: str, body: dict | None = None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json"} if data is not None else {}
    all_headers.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        payload = response.read()
    except (http.client.HTTPException, OSError):
        conn.close()  # reconnect on the next request
        raise
    return response.status, payload


# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------


class AnswerSupply:
    """Hands out participants; each connection answers one participant's items in order."""

    def __init__(self, people: list[dict]):
        self.people = list(people)
        self.lock = threading.Lock()
        self.acked: list[str] = []

    def next_person(self):
        with self.lock:
            return self.people.pop() if self.people else None

    def record(self, client_uuid: str):
        with self.lock:
            self.acked.append(client_uuid)


def answer_body(position: int, answer: str) -> tuple[str, dict]:
    client_uuid = str(uuid.uuid4())
    return client_uuid, {
        "client_uuid": client_uuid,
        "position": position,
        "answer": answer,
        "rt_ms": 1200,
        "display": {"dpr": 1.5, "scale": 2},
        "timing": {"bench": True},
    }


def closed_loop(port: int, endpoint: str, connections: int, seconds: float, supply: AnswerSupply):
    """Requests completed per second with `connections` saturating clients; errors counted."""
    stop_at = time.monotonic() + seconds
    done, errors = [0] * connections, [0] * connections

    def client(slot: int):
        conn = Connection(port)
        person, queue = None, []
        while time.monotonic() < stop_at:
            try:
                if endpoint == "health":
                    status, _ = request(conn, "GET", "/api/health/")
                    ok = status == 200
                elif endpoint == "write":
                    status, _ = request(conn, "POST", "/bench/write/", {"answer": "left"})
                    ok = status == 201
                else:
                    if not queue:
                        person = supply.next_person()
                        if person is None:
                            errors[slot] += 1
                            return
                        queue = list(person["items"])
                    position, answer = queue.pop(0)
                    client_uuid, body = answer_body(position, answer)
                    status, _ = request(conn, "POST", f"/w/{person['token']}/api/answers", body)
                    ok = status == 201
                    if ok:
                        supply.record(client_uuid)
            except (http.client.HTTPException, OSError):
                ok = False
            if ok:
                done[slot] += 1
            else:
                errors[slot] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return sum(done) / elapsed, sum(errors)


def paced(port: int, people: list[dict], pace: float, seconds: float, supply: AnswerSupply):
    """Each person answers every `pace` s (±30 % jitter); returns the number of answers sent and
    each answer's time seen by its client (from sending to the response, a resend included)."""
    stop_at = time.monotonic() + seconds
    sent = [0]
    client_ms: list[float] = []
    lock = threading.Lock()

    def person_loop(person: dict, seed: int):
        rng = random.Random(seed)
        conn = Connection(port)
        time.sleep(rng.uniform(0, pace))
        for position, answer in person["items"]:
            if time.monotonic() >= stop_at:
                break
            client_uuid, body = answer_body(position, answer)
            status = 0
            started = time.perf_counter()
            # gunicorn closes a keep-alive connection idle for 2 s (its --keep-alive), as a
            # participant's is between answers: like a browser, send again on a new connection.
            for _attempt in range(2):
                try:
                    status, _ = request(conn, "POST", f"/w/{person['token']}/api/answers", body)
                    break
                except (http.client.HTTPException, OSError):
                    continue
            if status == 201:
                supply.record(client_uuid)
            with lock:
                sent[0] += 1
                client_ms.append(1000 * (time.perf_counter() - started))
            time.sleep(pace * rng.uniform(0.7, 1.3))
        conn.close()

    threads = [threading.Thread(target=person_loop, args=(p, n)) for n, p in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent[0], client_ms


def server_times_ms(access_log: Path, since: int) -> list[float]:
    """Server-side times of answer POSTs logged after byte offset `since`."""
    with access_log.open() as handle:
        handle.seek(since)
        lines = handle.read().splitlines()
    return [
        int(parts[3]) / 1000
        for parts in (line.split() for line in lines)
        if len(parts) == 4 and parts[0] == "POST" and parts[1].endswith("/api/answers")
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def researcher_walk(port: int) -> int:
    """Log in as the researcher and open every admin list and add page and the API lists, as a
    demo session would; returns the number of pages opened."""
    conn = Connection(port)
    cookies = {}

    def remember(response_headers):
        for header in response_headers:
            if header[0].lower() == "set-cookie":
                name, _, rest = header[1].partition("=")
                cookies[name] = rest.split(";")[0]

    conn.request("GET", "/admin/login/")
    response = conn.getresponse()
    page = response.read().decode()
    remember(response.getheaders())
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    conn.request(
        "POST",
        "/admin/login/?next=/admin/",
        body=urlencode(
            {"csrfmiddlewaretoken": token, "username": OWNER, "password": OWNER_PASSWORD}
        ),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "Referer": f"http://127.0.0.1:{port}/admin/login/",
        },
    )
    response = conn.getresponse()
    response.read()
    remember(response.getheaders())
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    status, index = request(conn, "GET", "/admin/", headers=headers)
    if status != 200 or "logout" not in index.decode().lower():
        sys.exit("researcher walk: could not log in to the admin")
    links = sorted(set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/(?:add/)?)"', index.decode())))
    status, api = request(conn, "GET", "/api/schema/?format=json", headers=headers)
    api_paths = []
    if status == 200:
        api_paths = [
            p for p in json.loads(api).get("paths", {}) if "{" not in p and p.startswith("/api/")
        ]
    opened = 0
    for path in [*links, *api_paths]:
        request(conn, "GET", path, headers=headers)
        opened += 1
    conn.close()
    return opened


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="perceptlab_bench_answers")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (compose: 3)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (compose: 4)")
    parser.add_argument("--connections", type=int, default=12, help="closed-loop clients")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint per round")
    parser.add_argument("--paced", type=int, default=200, help="paced participants")
    parser.add_argument("--pace", type=float, default=2.0, help="seconds between their answers")
    parser.add_argument("--paced-seconds", type=float, default=40.0)
    parser.add_argument("--participants", type=int, default=0, help="0: enough for the run")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--items", type=int, default=30, help="items per assignment")
    parser.add_argument("--quick", action="store_true", help="a smoke run (under a minute)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.paced, args.paced_seconds = 1, 3.0, 40, 8.0
    # Generous (800 answers/s, warm-up included): a connection whose participants run out stops,
    # and its endpoint's rate would be measured with fewer connections.
    closed_answers = int((args.rounds * args.seconds + 2.0) * 800)
    args.participants = args.participants or (closed_answers // args.items + 1 + args.paced)

    data = prepare(args)
    people = data["people"]
    paced_people, closed_people = people[: args.paced], people[args.paced :]
    supply = AnswerSupply(closed_people)
    with tempfile.TemporaryDirectory(prefix="bench-answers-") as tmp:
        server = Server(args, Path(tmp))
        try:
            results = run(args, server, supply, paced_people)
        finally:
            server.stop()
        sent_file = Path(tmp) / "sent.json"
        sent_file.write_text(json.dumps({"acked": supply.acked}))
        check = json.loads(run_django(args, VERIFY, str(sent_file)))
    results["integrity"] = check
    report(args, results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    failed = (
        results["ratio_write_best"] < TARGET_RATIO
        or results["ratio_write_median"] < TARGET_RATIO
        or results["paced_p99_ms"] >= TARGET_P99_MS
        or max(results["rss_mb"]) >= TARGET_RSS_MB
        or check["lost"]
        or check["items_twice"]
        or check["unacked_but_stored"]
    )
    return 1 if failed else 0


def run(args, server: Server, supply: AnswerSupply, paced_people: list[dict]) -> dict:
    port = server.port
    print("warming up …", flush=True)
    for endpoint in ("health", "write", "answer"):
        closed_loop(port, endpoint, args.connections, 2.0, supply)
    rates = {"health": [], "write": [], "answer": []}
    errors = {"health": 0, "write": 0, "answer": 0}
    # CPU seconds per component and the requests served, per endpoint, over all rounds.
    cpu = {name: {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0} for name in rates}
    served = dict.fromkeys(rates, 0.0)
    order = ["health", "write", "answer"]
    steps = args.rounds * len(order)
    with tqdm(total=steps, desc="closed loop", unit="phase") as bar:
        for round_no in range(args.rounds):
            for endpoint in order[round_no % 3 :] + order[: round_no % 3]:
                before = cpu_seconds(server, args.database)
                rate, failed = closed_loop(port, endpoint, args.connections, args.seconds, supply)
                after = cpu_seconds(server, args.database)
                for name in cpu[endpoint]:
                    cpu[endpoint][name] += cpu_used(before[name], after[name])
                served[endpoint] += rate * args.seconds
                rates[endpoint].append(rate)
                errors[endpoint] += failed
                bar.set_postfix({endpoint: f"{rate:.0f}/s"})
                bar.update()
    offset = server.access_log.stat().st_size
    print(
        f"paced: {len(paced_people)} participants, one answer every {args.pace:g} s, "
        f"{args.paced_seconds:g} s …",
        flush=True,
    )
    sent, client_ms = paced(port, paced_people, args.pace, args.paced_seconds, supply)
    pages = researcher_walk(port)
    rss = server.worker_rss_mb()
    server.stop()  # flushes the access log
    times = server_times_ms(server.access_log, offset)
    per_round_write = [a / w for a, w in zip(rates["answer"], rates["write"], strict=True)]
    per_round_health = [a / h for a, h in zip(rates["answer"], rates["health"], strict=True)]
    return {
        "machine": f"{os.cpu_count()} CPUs",
        "server": f"gunicorn {args.workers} workers × {args.threads} threads, DEBUG=false",
        "connections": args.connections,
        "rates": rates,
        "errors": errors,
        # Milliseconds of CPU per request, per component, and the machine's share used.
        "cpu_ms_per_request": {
            endpoint: {name: 1000 * used / max(served[endpoint], 1) for name, used in parts.items()}
            for endpoint, parts in cpu.items()
        },
        "cpu_busy_share": {
            endpoint: sum(parts.values()) / (args.rounds * args.seconds * (os.cpu_count() or 1))
            for endpoint, parts in cpu.items()
        },
        "ratio_write_best": max(rates["answer"]) / max(rates["write"]),
        "ratio_write_median": statistics.median(per_round_write),
        "ratio_health_best": max(rates["answer"]) / max(rates["health"]),
        "ratio_health_median": statistics.median(per_round_health),
        "paced_sent": sent,
        "paced_client_p50_ms": percentile(client_ms, 0.50) if client_ms else float("nan"),
        "paced_client_p99_ms": percentile(client_ms, 0.99) if client_ms else float("nan"),
        "paced_logged": len(times),
        "paced_p50_ms": percentile(times, 0.50) if times else float("nan"),
        "paced_p95_ms": percentile(times, 0.95) if times else float("nan"),
        "paced_p99_ms": percentile(times, 0.99) if times else float("inf"),
        "walk_pages": pages,
        "rss_mb": rss,
    }


def report(args, r: dict) -> None:
    def rate(name):
        values = r["rates"][name]
        return f"best {max(values):7.1f}/s  median {statistics.median(values):7.1f}/s  errors {r['errors'][name]}"

    print()
    print(f"{r['server']}, {r['connections']} closed-loop connections, {r['machine']}")
    print(f"  health  {rate('health')}")
    print(f"  write   {rate('write')}")
    print(f"  answer  {rate('answer')}")
    for endpoint, parts in r["cpu_ms_per_request"].items():
        print(
            f"  CPU per {endpoint:6} request: "
            + ", ".join(f"{name} {ms:.2f} ms" for name, ms in parts.items())
            + f" (total {sum(parts.values()):.2f} ms; machine {r['cpu_busy_share'][endpoint]:.0%} busy)"
        )
    mark = (
        "met" if min(r["ratio_write_best"], r["ratio_write_median"]) >= TARGET_RATIO else "MISSED"
    )
    print(
        f"  answer / durable write: best {r['ratio_write_best']:.2f}, median of rounds "
        f"{r['ratio_write_median']:.2f} (target ≥ {TARGET_RATIO}: {mark})"
    )
    print(
        f"  answer / health:        best {r['ratio_health_best']:.2f}, median of rounds "
        f"{r['ratio_health_median']:.2f}"
    )
    mark = "met" if r["paced_p99_ms"] < TARGET_P99_MS else "MISSED"
    print(
        f"paced: {r['paced_sent']} answers sent, {r['paced_logged']} logged; server-side "
        f"p50 {r['paced_p50_ms']:.1f} ms, p95 {r['paced_p95_ms']:.1f} ms, "
        f"p99 {r['paced_p99_ms']:.1f} ms (target < {TARGET_P99_MS:g}: {mark})"
    )
    print(
        f"  seen by the clients (threads of one process, their own delays included): "
        f"p50 {r['paced_client_p50_ms']:.1f} ms, p99 {r['paced_client_p99_ms']:.1f} ms"
    )
    mark = "met" if max(r["rss_mb"]) < TARGET_RSS_MB else "MISSED"
    print(
        f"worker RSS after the run and a researcher's walk ({r['walk_pages']} pages): "
        + ", ".join(f"{v:.0f}" for v in r["rss_mb"])
        + f" MB (target < {TARGET_RSS_MB:g}: {mark})"
    )
    c = r["integrity"]
    print(
        f"integrity: {c['acked']} answers acknowledged, {c['stored']} stored, {c['lost']} lost, "
        f"{c['unacked_but_stored']} stored without acknowledgement, {c['items_twice']} items answered twice"
    )


if __name__ == "__main__":
    sys.exit(main())
