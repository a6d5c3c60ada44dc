"""Ingest and read through real gunicorn (the Procfile's config) against the bare baseline app, plus
projection lag under ingest load, web/worker peak memory, and an optional py-spy profile of our path.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from server.config import Settings
from server.domain.base import SYSTEM
from server.services import build_application
from tests.bench.common import (
    RESULTS_DIR,
    Figure,
    Results,
    children,
    cpu_seconds,
    peak_rss_mb,
    percentile,
    postgres_pids,
    server_env,
    store,
)
from tests.bench.load import LoadResult, Officers, run_load
from tests.e2e.processes import call, free_port, pantau_command, start, stop, wait_until_healthy

OURS = "server.app:create_app()"
BARE = "tests.bench.bare_app:create_app()"
PY_SPY = Path(sys.executable).with_name("py-spy")  # optional: the full run's profile needs it


def gunicorn_command(app: str) -> list[str]:
    """Exactly the Procfile's web command, with the app swapped for the baseline."""
    return [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf", app]


def seed_and_login(settings: Settings) -> Officers:
    """Committees, demo accounts and one signed-in PPS officer per PPS of the city: (token, committee) each."""
    from server.committee_import import REFERENCE_CSV, read_areas
    from server.demo import ensure_demo_accounts, import_committees

    application = build_application(settings)
    try:
        import_committees(application)
        ensure_demo_accounts(application)
        officers = []
        for code, _ in read_areas(REFERENCE_CSV):
            if code.count(".") == 3:
                username = f"bench_pps_{code.replace('.', '')}"
                application.create_account(username, "bench-password", "pps_officer", code, SYSTEM)
                officers.append(
                    (application.issue_token(username, "bench-password", timedelta(hours=2), SYSTEM).token, code)
                )
        return officers
    finally:
        application.close()


@contextmanager
def served(app: str, settings: Settings, log_dir: Path, label: str):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = log_dir / f"{label}.log"
    process = start(gunicorn_command(app), {**server_env(settings), "PANTAU_BIND": f"127.0.0.1:{port}"}, log)
    try:
        wait_until_healthy(base, process, log)
        yield base, process
    finally:
        stop(process)


def last_position(base: str) -> int:
    return call(base, "GET", "/healthz")[2]["last_position"] or 0


def web_worker_peak_mb(master_pid: int) -> float | None:
    peaks = [p for p in (peak_rss_mb(pid) for pid in children(master_pid)) if p is not None]
    return max(peaks) if peaks else None


class LagSampler(threading.Thread):
    """Polls the read models' tracking position; (wall time, position) when it moves."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        from server.worker_process import build_worker

        self.worker = build_worker(settings)
        self.samples: list[tuple[float, int]] = []
        self.halt = threading.Event()

    def position(self) -> int:
        return min(self.worker.positions().values())

    def run(self) -> None:
        last = -1
        while not self.halt.is_set():
            position = self.position()
            if position != last:
                self.samples.append((time.time(), position))
                last = position
            time.sleep(0.002)

    def lags(self, start: int, end: int) -> list[float]:
        """Seconds from each event's server timestamp to the first sample that showed it."""
        application = self.worker.application
        times = [t for t, _ in self.samples]
        positions = [p for _, p in self.samples]
        lags: list[float] = []
        cursor = start
        index = 0
        while cursor < end:
            batch = application.recorder.select_notifications(
                start=cursor, limit=1000, inclusive_of_start=False, stop=end
            )
            if not batch:
                break
            for notification in batch:
                stamp = application.mapper.to_domain_event(notification).timestamp.timestamp()
                while index < len(positions) and positions[index] < notification.id:
                    index += 1
                if index < len(positions):
                    lags.append(times[index] - stamp)
            cursor = batch[-1].id
        return lags

    def close(self) -> None:
        self.halt.set()
        self.join(timeout=5)
        self.worker.application.close()
        self.worker.db.close()


def projection_lag(
    base: str, settings: Settings, officers: Officers, connections: int, seconds: float, log_dir: Path
) -> dict[str, Any]:
    """Run the Procfile's worker beside the web server, ingest, and time save-to-visible per event."""
    log = log_dir / "worker.log"
    sampler = LagSampler(settings)
    worker = start(pantau_command("projections", "run"), server_env(settings), log)
    try:
        begin = last_position(base)
        deadline = time.monotonic() + 60
        while sampler.position() < begin and time.monotonic() < deadline:
            time.sleep(0.05)
        sampler.start()
        result = run_load(base, "ingest", officers, connections, seconds)
        end = last_position(base)
        deadline = time.monotonic() + 60
        while sampler.position() < end and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.05)
        lags = sampler.lags(begin, end)
        return {"load": result, "lags": lags, "worker_peak_mb": peak_rss_mb(worker.pid), "events": end - begin}
    finally:
        sampler.close()
        stop(worker)


def profile(master_pid: int, base: str, officers: Officers, connections: int, seconds: float, out: Path) -> str:
    """py-spy over every gunicorn worker while ingesting; the functions that dominate, as markdown."""
    raw = out.with_suffix(".txt")
    spy = subprocess.Popen(
        [
            str(PY_SPY),
            "record",
            "--subprocesses",
            "--nonblocking",
            "-r",
            "250",
            "-d",
            str(round(seconds)),
            "-f",
            "raw",
            "-o",
            str(raw),
            "-p",
            str(master_pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    run_load(base, "ingest", officers, connections, seconds - 1.5)
    spy.wait(timeout=seconds + 60)
    return summarise_profile(raw)


def summarise_profile(raw: Path, top: int = 25) -> str:
    """Inclusive share of samples per function, from py-spy's collapsed stacks (request threads only)."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if "handle_request" not in stack:
            continue  # the accept loop and idle threads are not our request path
        count = int(count_text)
        total += count
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[-1].rsplit(":", 1)[0].split("site-packages/")[-1] + ")"
            for f in stack.split(";")
            if " (" in f
        ]
        for name in set(frames):
            inclusive[name] += count
        if frames:
            leaf[frames[-1]] += count
    if not total:
        return "(no samples)"
    lines = ["| function | inclusive % | self % |", "|---|---:|---:|"]
    for name, count in inclusive.most_common(top):
        lines.append(f"| `{name}` | {100 * count / total:.1f} | {100 * leaf[name] / total:.1f} |")
    return "\n".join(lines)


def alternating(
    sides: dict[str, str], kind: str, officers: Officers, connections: int, seconds: float, rounds: int,
    masters: dict[str, int] | None = None,
) -> tuple[dict[str, LoadResult], dict[str, int]]:
    """Each side in turn, `rounds` times, so that load from elsewhere on the machine hits both alike;
    the round with the median throughput stands for each side. Also the requests counted per side.

    With `masters` (side -> gunicorn master pid), each result also carries the CPU its web processes and
    the machine's PostgreSQL processes spent per request during that run (`cpu_us`)."""
    runs: dict[str, list[LoadResult]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, base in sides.items():
            web = [masters[name], *children(masters[name])] if masters else []
            before = (cpu_seconds(web), cpu_seconds(postgres_pids()))
            result = run_load(base, kind, officers, connections, seconds)
            after = (cpu_seconds(web), cpu_seconds(postgres_pids()))
            if masters and result.requests:
                result.cpu_us = tuple((a - b) / result.requests * 1e6 for a, b in zip(after, before, strict=True))
            runs[name].append(result)
    medians = {name: sorted(found, key=lambda r: r.rps)[len(found) // 2] for name, found in runs.items()}
    return medians, {name: sum(r.requests for r in found) for name, found in runs.items()}


def run(
    results: Results,
    backend: str,
    connections: int,
    seconds: float,
    do_profile: bool,
    rounds: int = 3,
    smoke: bool = False,
) -> None:
    """All HTTP-level figures for one backend; `smoke` measures ingest only (CI proves the harness works)."""
    log_dir = RESULTS_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with store(backend, "ours") as settings, store(backend, "bare") as bare_settings:
        officers = seed_and_login(settings)
        with (
            served(OURS, settings, log_dir, f"pantau-{backend}") as (base, process),
            served(BARE, bare_settings, log_dir, f"bare-{backend}") as (bare_base, bare_process),
        ):
            sides = {"ours": base, "bare": bare_base}
            for side in sides.values():  # warm caches and pools on both
                run_load(side, "ingest", officers, connections, min(2.0, seconds / 2))
            before = {name: last_position(side) for name, side in sides.items()}
            ingests, counted = alternating(sides, "ingest", officers, connections, seconds, rounds)
            stored = {name: last_position(side) - before[name] for name, side in sides.items()}
            if smoke:
                results.add(
                    Figure(
                        "ingest",
                        backend,
                        f"POST reports/s, {connections} conns (smoke)",
                        ingests["ours"].rps,
                        ingests["bare"].rps,
                        "req/s",
                        note=f"errors: ours {ingests['ours'].errors}, bare {ingests['bare'].errors}; stored {stored}",
                    )
                )
                return
            for side in sides.values():
                run_load(side, "read", officers, connections, 1.0)
            masters = {"ours": process.pid, "bare": bare_process.pid}
            reads, _ = alternating(sides, "read", officers, connections, seconds, rounds, masters)
            web_peak = web_worker_peak_mb(process.pid)
            lag = projection_lag(base, settings, officers, connections, seconds, log_dir)
            if do_profile and not PY_SPY.exists():
                print(f"profile skipped: {PY_SPY} is not installed (pip install py-spy)", flush=True)
            elif do_profile:
                results.extra[f"profile_{backend}"] = (
                    f"py-spy, {connections} connections, ingest (visits/complaints/corrections), share of samples "
                    f"in request threads of all web workers:\n\n"
                    + profile(
                        process.pid, base, officers, connections, max(6.0, seconds), RESULTS_DIR / f"profile-{backend}"
                    )
                )
    ingest, bare_ingest = ingests["ours"], ingests["bare"]
    read, bare_read = reads["ours"], reads["bare"]

    def errors_note(
        ours_result: LoadResult, base_result: LoadResult, ours_saved: int | None = None, bare_saved_n: int | None = None
    ) -> str:
        parts = []
        if ours_result.errors or base_result.errors:
            parts.append(f"errors: ours {ours_result.errors}, bare {base_result.errors}")
        # Every request must have stored exactly one event (wrk stops counting with requests in flight).
        if ours_saved is not None and not 0 <= ours_saved - counted["ours"] <= connections * rounds:
            parts.append(f"ours stored {ours_saved} events for {counted['ours']} requests")
        if bare_saved_n is not None and not 0 <= bare_saved_n - counted["bare"] <= connections * rounds:
            parts.append(f"bare stored {bare_saved_n} for {counted['bare']} requests")
        return "; ".join(parts)

    c = f"{connections} conns"
    results.add(
        Figure(
            "ingest",
            backend,
            f"POST reports/s, {c}",
            ingest.rps,
            bare_ingest.rps,
            "req/s",
            "ratio>=0.9" if backend == "sqlite" else "",
            note=errors_note(ingest, bare_ingest, stored["ours"], stored["bare"]),
        )
    )
    results.add(
        Figure("ingest", backend, "POST p50 latency", ingest.p50_ms, bare_ingest.p50_ms, "ms", higher_is_better=False)
    )
    results.add(
        Figure(
            "ingest",
            backend,
            "POST p99 latency",
            ingest.p99_ms,
            bare_ingest.p99_ms,
            "ms",
            "ours<50",
            higher_is_better=False,
        )
    )
    results.add(
        Figure(
            "read",
            backend,
            f"GET committee/s, {c}",
            read.rps,
            bare_read.rps,
            "req/s",
            "ratio>=0.5",
            note=errors_note(read, bare_read),
        )
    )
    results.add(Figure("read", backend, "GET p50 latency", read.p50_ms, bare_read.p50_ms, "ms", higher_is_better=False))
    results.add(Figure("read", backend, "GET p99 latency", read.p99_ms, bare_read.p99_ms, "ms", higher_is_better=False))
    # Where a read's time goes on these two shared cores: the web processes' CPU, and the database's.
    if read.cpu_us and bare_read.cpu_us:
        results.add(Figure("read", backend, "GET CPU per request, web processes", read.cpu_us[0], bare_read.cpu_us[0],
                           "us", higher_is_better=False))
        if backend == "postgres":
            results.add(Figure("read", backend, "GET CPU per request, PostgreSQL", read.cpu_us[1], bare_read.cpu_us[1],
                               "us", higher_is_better=False, note="all server processes on the machine"))
    lags = lag["lags"]
    if lags:
        note = f"{len(lags)} events at {lag['load'].rps:,.0f} req/s with the worker running"
        results.add(
            Figure(
                "lag",
                backend,
                "save->visible p50",
                percentile(lags, 50) * 1000,
                None,
                "ms",
                higher_is_better=False,
                note=note,
            )
        )
        results.add(
            Figure(
                "lag",
                backend,
                "save->visible p99",
                percentile(lags, 99) * 1000,
                None,
                "ms",
                "ours<1000",
                higher_is_better=False,
            )
        )
    results.add(
        Figure("memory", backend, "web worker peak RSS (VmHWM)", web_peak or 0, None, "MiB", higher_is_better=False)
    )
    results.add(
        Figure(
            "memory",
            backend,
            "projection worker peak RSS",
            lag["worker_peak_mb"] or 0,
            None,
            "MiB",
            higher_is_better=False,
        )
    )
