"""What every benchmark shares: recording figures beside baselines, throwaway stores, process facts."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from server.config import Settings

REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = Path(os.environ.get("PANTAU_BENCH_RESULTS") or REPO / "bench-results")
PG_SERVER = os.environ.get("PANTAU_BENCH_DATABASE_URL") or os.environ.get(
    "PANTAU_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Figure:
    """One measured figure beside its baseline from the same run."""

    bench: str
    backend: str
    metric: str
    ours: float
    baseline: float | None
    unit: str
    goal: str = ""
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.ours == 0:
            return None
        return self.ours / self.baseline if self.higher_is_better else self.baseline / self.ours

    @property
    def verdict(self) -> str:
        """PASS/MISS against a goal like 'ratio>=0.9' or 'ours<50'; blank without a goal."""
        if not self.goal:
            return ""
        name, op, limit = _parse_goal(self.goal)
        value = self.ratio if name == "ratio" else self.ours
        if value is None:
            return "n/a"
        ok = value >= limit if op == ">=" else value < limit
        return "PASS" if ok else "MISS"


def _parse_goal(goal: str) -> tuple[str, str, float]:
    for op in (">=", "<"):
        if op in goal:
            name, limit = goal.split(op)
            return name.strip(), op, float(limit)
    raise ValueError(goal)


@dataclass
class Results:
    """All figures of one harness run, printed as they come and saved as JSON and markdown."""

    quick: bool
    figures: list[Figure] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print("  " + format_line(figure), flush=True)
        return figure

    def save(self, directory: Path = RESULTS_DIR) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        data = {
            "machine": machine(),
            "quick": self.quick,
            "elapsed_s": round(time.time() - self.started, 1),
            "figures": [{**asdict(f), "ratio": f.ratio, "verdict": f.verdict} for f in self.figures],
            **self.extra,
        }
        (directory / "results.json").write_text(json.dumps(data, indent=2, default=str))
        (directory / "results.md").write_text(markdown(self, data["machine"]))
        return directory


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def format_line(f: Figure) -> str:
    base = f"vs baseline {fmt(f.baseline)} {f.unit}" if f.baseline is not None else ""
    ratio = f" -> ratio {f.ratio:.2f}" if f.ratio is not None else ""
    goal = f" (goal {f.goal}: {f.verdict})" if f.goal else ""
    note = f"  [{f.note}]" if f.note else ""
    return f"[{f.bench}/{f.backend}] {f.metric}: {fmt(f.ours)} {f.unit} {base}{ratio}{goal}{note}"


def markdown_table(figures: list[Figure]) -> str:
    lines = [
        "| benchmark | backend | metric | Pantau | baseline | ratio | goal | |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for f in figures:
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        lines.append(
            f"| {f.bench} | {f.backend} | {f.metric} ({f.unit}) | {fmt(f.ours)} | {fmt(f.baseline)} | {ratio} "
            f"| {f.goal} | {f.verdict}{(' ' + f.note) if f.note else ''} |"
        )
    return "\n".join(lines)


def markdown(results: Results, info: dict[str, str]) -> str:
    parts = [
        "# Pantau benchmark results",
        "",
        f"Machine: {info['cpus']} CPUs, {info['cpu_model']}, {info['memory']}, Python {info['python']}, "
        f"{info['os']}. Mode: {'quick' if results.quick else 'full'}. Load generator: {info.get('load', '-')}.",
        "",
        markdown_table(results.figures),
    ]
    for key, value in results.extra.items():
        if isinstance(value, str):
            parts += ["", f"## {key}", "", value]
    return "\n".join(parts) + "\n"


_MACHINE: dict[str, str] = {}


def machine() -> dict[str, str]:
    """nproc, CPU model, memory: the figures mean nothing without them."""
    if not _MACHINE:
        model = "unknown"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")
        )
        _MACHINE.update(
            cpus=str(os.cpu_count()),
            cpu_model=model,
            memory=f"{mem_kb / 1024 / 1024:.0f} GiB RAM",
            python=platform.python_version(),
            os=platform.platform(terse=True),
        )
    return _MACHINE


# --- stores ---------------------------------------------------------------------------------


def _admin_connect() -> Any:
    import psycopg

    return psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5)


def postgres_available() -> bool:
    try:
        _admin_connect().close()
    except Exception:  # any failure means "not here"
        return False
    return True


@contextmanager
def postgres_database(prefix: str = "pantau_bench") -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_SERVER.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with _admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def store(backend: str, label: str = "bench") -> Iterator[Settings]:
    """Settings for a throwaway instance folder (and database, on PostgreSQL)."""
    with tempfile.TemporaryDirectory(prefix=f"pantau-{label}-") as tmp:
        if backend == "postgres":
            with postgres_database() as url:
                yield Settings(instance_path=Path(tmp) / "instance", database_url=url)
        else:
            yield Settings(instance_path=Path(tmp) / "instance")


def server_env(settings: Settings) -> dict[str, str]:
    """Environment for processes (gunicorn, worker) that must use these settings."""
    return {
        "PANTAU_INSTANCE_PATH": str(settings.instance_path),
        "DATABASE_URL": settings.database_url or "",
        "PANTAU_PASSWORD_COST": os.environ.get("PANTAU_PASSWORD_COST", "10"),
    }


# --- processes ------------------------------------------------------------------------------


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct child processes (gunicorn's workers under its master)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (0 for one that has gone)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on this machine (the backends serving both sides among them)."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                found.append(int(comm.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def run_json(command: list[str], env: dict[str, str] | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Run a helper process that prints one JSON object as its last line."""
    done = subprocess.run(
        command,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
