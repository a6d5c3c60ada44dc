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
from tests.bench.common import RESULTS_DIR, Figure, Results, children, peak_rss_mb, percentile, server_env, store
from tests.bench.load import LoadResult, run_load
from tests.e2e.processes import call, free_port, pantau_command, start, stop, wait_until_healthy

OURS = "server.app:create_app()"
BARE = "tests.bench.bare_app:create_app()"


def gunicorn_command(app: str) -> list[str]:
    """Exactly the Procfile's web command, with the app swapped for the baseline."""
    return [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf", app]


def seed_and_login(settings: Settings) -> str:
    """Committees and demo accounts in a fresh store; a PPS officer's bearer token."""
    from server.demo import ensure_demo_accounts, import_committees

    application = build_application(settings)
    try:
        import_committees(application)
        ensure_demo_accounts(application)
        return application.issue_token("pps_semabung", "demo-pps-2024", timedelta(hours=2), SYSTEM).token
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


def measured_ingest(base: str, token: str | None, connections: int, seconds: float) -> tuple[LoadResult, int]:
    """Warm up, then load; also how many events the store gained (proves every request saved one)."""
    run_load(base, "ingest", token, connections, min(2.0, seconds / 2))
    before = last_position(base)
    result = run_load(base, "ingest", token, connections, seconds)
    return result, last_position(base) - before


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
            batch = application.recorder.select_notifications(start=cursor, limit=1000, inclusive_of_start=False, stop=end)
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


def projection_lag(base: str, settings: Settings, token: str, connections: int, seconds: float, log_dir: Path) -> dict[str, Any]:
    """Run the Procfile's worker beside the web server, ingest, and time save-to-visible per event."""
    log = log_dir / "worker.log"
    worker = start(pantau_command("projections", "run"), server_env(settings), log)
    sampler = LagSampler(settings)
    try:
        begin = last_position(base)
        deadline = time.monotonic() + 60
        while sampler.position() < begin and time.monotonic() < deadline:
            time.sleep(0.05)
        sampler.start()
        result = run_load(base, "ingest", token, connections, seconds)
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


def profile(master_pid: int, base: str, token: str, connections: int, seconds: float, out: Path) -> str:
    """py-spy over every gunicorn worker while ingesting; the functions that dominate, as markdown."""
    raw = out.with_suffix(".txt")
    spy = subprocess.Popen(
        [str(Path(sys.executable).with_name("py-spy")), "record", "--subprocesses", "--nonblocking", "-r", "250",
         "-d", str(round(seconds)), "-f", "raw", "-o", str(raw), "-p", str(master_pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    run_load(base, "ingest", token, connections, seconds - 1.5)
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
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].rsplit(":", 1)[0].split("site-packages/")[-1] + ")" for f in stack.split(";") if " (" in f]
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


def run(results: Results, backend: str, connections: int, seconds: float, do_profile: bool) -> None:
    """All HTTP-level figures for one backend."""
    log_dir = RESULTS_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with store(backend, "bare") as bare_settings, served(BARE, bare_settings, log_dir, f"bare-{backend}") as (base, _):
        bare_ingest, bare_saved = measured_ingest(base, None, connections, seconds)
        run_load(base, "read", None, connections, 1.0)
        bare_read = run_load(base, "read", None, connections, seconds)

    with store(backend, "ours") as settings:
        token = seed_and_login(settings)
        with served(OURS, settings, log_dir, f"pantau-{backend}") as (base, process):
            ingest, saved = measured_ingest(base, token, connections, seconds)
            run_load(base, "read", token, connections, 1.0)
            read = run_load(base, "read", token, connections, seconds)
            web_peak = web_worker_peak_mb(process.pid)
            lag = projection_lag(base, settings, token, connections, seconds, log_dir)
            if do_profile:
                results.extra[f"profile_{backend}"] = (
                    f"py-spy, {connections} connections, ingest (visits/complaints/corrections), share of samples "
                    f"in request threads of all web workers:\n\n"
                    + profile(process.pid, base, token, connections, max(6.0, seconds), RESULTS_DIR / f"profile-{backend}")
                )

    def errors_note(ours_result: LoadResult, base_result: LoadResult, ours_saved: int | None = None, bare_saved_n: int | None = None) -> str:
        parts = []
        if ours_result.errors or base_result.errors:
            parts.append(f"errors: ours {ours_result.errors}, bare {base_result.errors}")
        if ours_saved is not None and ours_saved != ours_result.requests:
            parts.append(f"ours saved {ours_saved} events for {ours_result.requests} requests")
        if bare_saved_n is not None and bare_saved_n != base_result.requests:
            parts.append(f"bare saved {bare_saved_n} for {base_result.requests}")
        return "; ".join(parts)

    c = f"{connections} conns"
    results.add(Figure("ingest", backend, f"POST reports/s, {c}", ingest.rps, bare_ingest.rps, "req/s", "ratio>=0.9" if backend == "sqlite" else "",
                       note=errors_note(ingest, bare_ingest, saved, bare_saved)))
    results.add(Figure("ingest", backend, "POST p50 latency", ingest.p50_ms, bare_ingest.p50_ms, "ms", higher_is_better=False))
    results.add(Figure("ingest", backend, "POST p99 latency", ingest.p99_ms, bare_ingest.p99_ms, "ms", "ours<50", higher_is_better=False))
    results.add(Figure("read", backend, f"GET committee/s, {c}", read.rps, bare_read.rps, "req/s", "ratio>=0.5", note=errors_note(read, bare_read)))
    results.add(Figure("read", backend, "GET p50 latency", read.p50_ms, bare_read.p50_ms, "ms", higher_is_better=False))
    results.add(Figure("read", backend, "GET p99 latency", read.p99_ms, bare_read.p99_ms, "ms", higher_is_better=False))
    lags = lag["lags"]
    if lags:
        note = f"{len(lags)} events at {lag['load'].rps:,.0f} req/s with the worker running"
        results.add(Figure("lag", backend, "save->visible p50", percentile(lags, 50) * 1000, None, "ms", higher_is_better=False, note=note))
        results.add(Figure("lag", backend, "save->visible p99", percentile(lags, 99) * 1000, None, "ms", "ours<1000", higher_is_better=False))
    results.add(Figure("memory", backend, "web worker peak RSS (VmHWM)", web_peak or 0, None, "MiB", higher_is_better=False))
    results.add(Figure("memory", backend, "projection worker peak RSS", lag["worker_peak_mb"] or 0, None, "MiB", higher_is_better=False))
