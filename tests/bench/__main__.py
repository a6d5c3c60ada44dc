"""Each benchmark beside its baseline: python -m tests.bench [--quick] [--backend sqlite|postgres|both]"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("PANTAU_PASSWORD_COST", "10")  # logins are set up, not measured; hashes record their cost

from tests.bench import bench_http, bench_ledger, bench_partitions, bench_scale
from tests.bench.common import RESULTS_DIR, Results, machine, markdown_table, postgres_available
from tests.bench.load import tool

BENCHES = ("http", "projection", "scale", "ledger", "partitions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke-sized run of everything (< 3 minutes)")
    parser.add_argument("--smoke", action="store_true", help="only a short SQLite ingest against the baseline (CI)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {','.join(BENCHES)}")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, help="per HTTP load run (default 2 quick, 10 full)")
    parser.add_argument("--rounds", type=int, help="alternating rounds per HTTP ratio (default 1 quick, 3 full)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy profile of the ingest path (default in full runs)"
    )
    args = parser.parse_args(argv)

    quick = args.quick or args.smoke
    seconds = args.seconds or (2.0 if quick else 10.0)
    rounds = args.rounds or (1 if quick else 3)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and not postgres_available():
        print("PostgreSQL is not reachable (PANTAU_BENCH_DATABASE_URL / PANTAU_TEST_DATABASE_URL): SQLite only.")
        backends = [b for b in backends if b != "postgres"] or ["sqlite"]
    only = set(args.only.split(","))
    results = Results(quick=quick)
    machine()["load"] = tool()
    info = machine()
    print(f"Machine: {info['cpus']} CPUs, {info['cpu_model']}, {info['memory']}; load generator: {info['load']}")

    def section(name: str) -> None:
        print(f"\n== {name} ({time.time() - results.started:.0f}s)", flush=True)

    if args.smoke:
        section("ingest smoke, sqlite")
        bench_http.run(results, "sqlite", args.connections, seconds, False, rounds=1, smoke=True)
        results.save()
        return 0
    if "http" in only:
        for backend in backends:
            section(f"HTTP ingest, read, lag, memory: {backend}")
            do_profile = args.profile or (not quick and backend == "sqlite")
            bench_http.run(results, backend, args.connections, seconds, do_profile, rounds=rounds)
            results.save()
    if "projection" in only:
        for backend in backends:
            section(f"projection throughput: {backend}")
            bench_scale.projection(results, backend, "10x" if quick else "100x")
            results.save()
    if "scale" in only:
        section("scales (SQLite)")
        bench_scale.scales(results, ["1x", "10x"] if quick else ["1x", "10x", "100x", "national"])
        results.save()
    if "ledger" in only:
        section("ledger")
        bench_ledger.run(results, 100_000 if quick else 1_000_000, [10**4, 10**5] if quick else [10**4, 10**5, 10**6])
        results.save()
    if "partitions" in only and "postgres" in backends:
        section("partitions (PostgreSQL)")
        bench_partitions.run(results, 2.0 if quick else 10.0)
        results.save()

    directory = results.save()
    print("\n" + markdown_table(results.figures))
    for key, value in results.extra.items():
        if isinstance(value, str):
            print(f"\n{key}:\n{value}")
    print(
        f"\nWritten: {directory / 'results.json'}, {directory / 'results.md'}"
        + (f", {RESULTS_DIR / 'scale.svg'}" if "scale" in only else "")
    )
    print(f"Total {time.time() - results.started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
