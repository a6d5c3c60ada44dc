"""Projection throughput against bare decode, and cost per scale (rebuild, status reads, memory), with a chart."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.bench.common import RESULTS_DIR, Figure, Results, postgres_database, run_json

PROJECTION_ROUNDS = 5  # bare decode and rebuild in turns; the round with the median ratio is reported


def generate_and_measure(scale: str, backend: str, rounds: int = 1) -> dict[str, Any]:
    """Generate one scale into a fresh store, then rebuild it in a process of its own (`rounds` times)."""
    with tempfile.TemporaryDirectory(prefix="pantau-scale-") as tmp:
        if backend == "postgres":
            with postgres_database() as url:
                return _run(scale, tmp, url, rounds)
        return _run(scale, tmp, "", rounds)


def _run(scale: str, instance: str, url: str, rounds: int) -> dict[str, Any]:
    base = [sys.executable, "-m", "tests.bench.national"]
    common = ["--instance", instance, "--database-url", url]
    generated = run_json([*base, "generate", "--scale", scale, *common])
    measured = run_json([*base, "measure", *common, "--rounds", str(rounds)])
    return {**generated, **measured}


def projection(results: Results, backend: str, scale: str) -> dict[str, Any]:
    """Worker.catch_up (every view, from zero) against select_notifications + decode of the same log."""
    found = generate_and_measure(scale, backend, PROJECTION_ROUNDS)
    results.add(
        Figure(
            "projection",
            backend,
            f"rebuild events/s ({found['events']:,} events, {found['views']} views)",
            found["rebuild_events_per_s"],
            found["bare_events_per_s"],
            "events/s",
            "ratio>=0.33",
            note=f"median of {PROJECTION_ROUNDS} rounds; each round's ratio: "
            + ", ".join(f"{ratio:.2f}" for ratio in found["round_ratios"]),
        )
    )
    return found


def scales(results: Results, names: list[str]) -> list[dict[str, Any]]:
    """Rebuild time, status-read latency and worker memory per scale (SQLite)."""
    rows = []
    for name in names:
        found = generate_and_measure(name, "sqlite")
        found["name"] = name
        rows.append(found)
        label = f"{name} ({found['pps']:,} PPS, {found['events']:,} events)"
        results.add(Figure("scale", "sqlite", f"{label} generate", found["events_per_s"], None, "events/s"))
        results.add(
            Figure("scale", "sqlite", f"{label} full rebuild", found["rebuild_s"], None, "s", higher_is_better=False)
        )
        # The same ratio as the projection row, per size: what a larger log costs per event.
        results.add(
            Figure("scale", "sqlite", f"{label} rebuild vs bare decode", found["rebuild_events_per_s"],
                   found["bare_events_per_s"], "events/s")
        )
        status = found["reads"].get("pps_status_readmodel", {})
        if "p99_ms" in status:
            results.add(
                Figure(
                    "scale",
                    "sqlite",
                    f"{label} PPS status read p99 (read model)",
                    status["p99_ms"],
                    None,
                    "ms",
                    higher_is_better=False,
                )
            )
        record = found["reads"]["visit_record_store"]
        results.add(
            Figure(
                "scale",
                "sqlite",
                f"{label} visit read p99 (event store)",
                record["p99_ms"],
                None,
                "ms",
                higher_is_better=False,
            )
        )
        results.add(
            Figure(
                "scale",
                "sqlite",
                f"{label} projection worker peak RSS",
                found["worker_peak_rss_mb"],
                None,
                "MiB",
                higher_is_better=False,
            )
        )
    write_chart(rows, RESULTS_DIR / "scale.svg")
    results.extra["scale_rows"] = [
        {
            k: r[k]
            for k in (
                "name",
                "pps",
                "events",
                "generate_s",
                "rebuild_s",
                "rebuild_events_per_s",
                "bare_events_per_s",
                "worker_peak_rss_mb",
                "reads",
            )
        }
        for r in rows
    ]
    return rows


def write_chart(rows: list[dict[str, Any]], path: Path) -> None:
    """Rebuild seconds and worker peak RSS against events, log-log, as a hand-written SVG."""
    import math

    if not rows:
        return
    width, height, pad = 640, 360, 60
    xs = [math.log10(max(r["events"], 1)) for r in rows]
    series = [
        ("rebuild s", [r["rebuild_s"] for r in rows], "#c0392b"),
        ("worker peak MiB", [r["worker_peak_rss_mb"] for r in rows], "#2471a3"),
    ]
    ys_all = [math.log10(max(v, 1e-3)) for _, values, _ in series for v in values]
    x0, x1 = min(xs) - 0.1, max(xs) + 0.1
    y0, y1 = min(ys_all) - 0.2, max(ys_all) + 0.2

    def px(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (width - 2 * pad)

    def py(y: float) -> float:
        return height - pad - (y - y0) / (y1 - y0) * (height - 2 * pad)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">'
        "Pantau cost by scale (log-log; SQLite, one worker and its writer)</text>",
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
        f'<text x="{width / 2}" y="{height - 15}" text-anchor="middle">events in the log</text>',
    ]
    for exponent in range(math.ceil(x0), math.floor(x1) + 1):
        parts.append(f'<text x="{px(exponent)}" y="{height - pad + 16}" text-anchor="middle">1e{exponent}</text>')
    for exponent in range(math.ceil(y0), math.floor(y1) + 1):
        parts.append(f'<text x="{pad - 6}" y="{py(exponent) + 4}" text-anchor="end">1e{exponent}</text>')
    for index, (label, values, colour) in enumerate(series):
        points = [(px(x), py(math.log10(max(v, 1e-3)))) for x, v in zip(xs, values, strict=True)]
        line = " ".join(f"{a:.1f},{b:.1f}" for a, b in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{line}"/>')
        for (a, b), row in zip(points, rows, strict=True):
            parts.append(
                f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"><title>{row["name"]}</title></circle>'
            )
        parts.append(f'<text x="{width - pad - 150}" y="{pad + 16 * index}" fill="{colour}">{label}</text>')
    for x, row in zip(xs, rows, strict=True):
        parts.append(f'<text x="{px(x)}" y="{pad - 8}" text-anchor="middle" font-size="10">{row["name"]}</text>')
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts))
