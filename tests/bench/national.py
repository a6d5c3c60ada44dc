"""A deterministic synthetic country (seeded), written straight through the eventsourcing application.

Structure: 38 provinces, 514 kabupaten/kota, 7,277 PPK (kecamatan, NN.NN.NN) and 83,700 PPS
(kelurahan/desa, NN.NN.NN.NNNN), as KPU counts them; or 1x/10x/100x Pangkalpinang (7 PPK, 42 PPS each).
Histories per PPS: monitoring visits (some amended, follow-ups resolved), complaints through their
lifecycle, registration corrections verified and decided by a second officer: about 21 events per PPS.

    python -m tests.bench.national generate --scale 10x --instance DIR [--database-url URL] [--seed 1]
    python -m tests.bench.national measure --instance DIR [--database-url URL]

`--scale national:N` keeps only the first N provinces (a sample when the whole country would take too long).
Each command prints one JSON object; `measure` rebuilds every read model from zero in its own process,
so its peak RSS is the projection worker's at that scale.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import resource
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("PANTAU_PASSWORD_COST", "10")

from server.config import Settings
from server.domain.checklist import CURRENT_CHECKLIST_VERSION, checklist
from server.domain.committee import Committee
from server.domain.complaint import CATEGORIES, Complaint
from server.domain.correction import RegistrationCorrection
from server.domain.visit import MonitoringVisit

PROVINCES = [*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66), *range(71, 77), 81, 82, *range(91, 97)]
NATIONAL = {"provinces": 38, "kabkota": 514, "ppk": 7_277, "pps": 83_700}
PANGKALPINANG = {"ppk": 7, "pps": 42}
SAMPLE_FILE = "bench-sample.json"


def _spread(rng: random.Random, total: int, bins: int) -> list[int]:
    """`total` items over `bins` bins, each at least one, unevenly (as real regions are)."""
    weights = [rng.uniform(0.3, 1.7) for _ in range(bins)]
    counts = [1] * bins
    for index in rng.choices(range(bins), weights=weights, k=total - bins):
        counts[index] += 1
    return counts


def country(scale: str, seed: int = 1) -> list[tuple[str, str, str | None]]:
    """(code, name, parent) of every committee: PPK first, then PPS."""
    rng = random.Random(f"country:{seed}")
    ppk: list[str] = []
    pps_per_ppk: list[int] = []
    if scale.startswith("national"):
        _, _, keep = scale.partition(":")
        kab = _spread(rng, NATIONAL["kabkota"], NATIONAL["provinces"])
        ppk_counts = _spread(rng, NATIONAL["ppk"], NATIONAL["kabkota"])
        pps_counts = _spread(rng, NATIONAL["pps"], NATIONAL["ppk"])
        k = 0
        for p, province in enumerate(PROVINCES):
            for kab_no in range(1, kab[p] + 1):
                for kec in range(1, ppk_counts[k] + 1):
                    ppk.append(f"{province:02d}.{kab_no:02d}.{kec:02d}")
                k += 1
            if keep and p + 1 >= int(keep):
                break
        pps_per_ppk = pps_counts[: len(ppk)]
    else:
        factor = int(scale.rstrip("x"))
        # Pangkalpinang is kota 19.71 with 7 kecamatan; larger scales add more kota in the same province.
        for n in range(PANGKALPINANG["ppk"] * factor):
            ppk.append(f"19.{71 + n // 99 if n // 99 < 29 else n // 99 - 28:02d}.{n % 99 + 1:02d}")
        pps_per_ppk = _spread(rng, PANGKALPINANG["pps"] * factor, len(ppk))
    committees: list[tuple[str, str, str | None]] = [(code, f"PPK {code}", None) for code in ppk]
    for code, count in zip(ppk, pps_per_ppk, strict=True):
        for n in range(count):
            committees.append((f"{code}.{(1001 if n % 2 else 2001) + n // 2:04d}", f"PPS {code}-{n}", code))
    return committees


def _ctx(actor: str, role: str, submission: str | None = None) -> dict[str, Any]:
    return {"actor": actor, "role": role, "submission_id": submission, "device_time": None, "location": None}


def histories(committees: list[tuple[str, str, str | None]], seed: int = 1) -> Iterator[Any]:
    """Committee aggregates, then each PPS's visits, complaints and corrections with their later steps."""
    rng = random.Random(f"histories:{seed}")
    keys = list(checklist(CURRENT_CHECKLIST_VERSION).keys())
    system = _ctx("system", "system")
    for code, name, parent in committees:
        yield Committee(code=code, kind="PPS" if parent else "PPK", name=name, parent=parent, context=system)
    for code, _, parent in committees:
        if parent is None:
            continue
        officer, supervisor = f"pps_{code}", f"ppk_{parent}"

        def new_id() -> uuid.UUID:
            return uuid.UUID(int=rng.getrandbits(128), version=4)

        for _ in range(rng.randint(2, 10)):
            vid = new_id()
            follow_ups = [f"Tindak lanjut {i}" for i in range(rng.randint(0, 2))]
            visit = MonitoringVisit(
                id=vid,
                committee=code,
                checklist_version=CURRENT_CHECKLIST_VERSION,
                checklist={k: rng.random() < 0.8 for k in keys},
                findings="Kunjungan rutin; papan DPT terpasang.",
                follow_ups=follow_ups,
                fingerprint=hashlib.sha256(vid.bytes).hexdigest(),
                context=_ctx(officer, "pps_officer", str(vid)),
            )
            if rng.random() < 0.25:
                visit.amend(
                    reason="Koreksi temuan",
                    checklist=None,
                    findings="Temuan diperbarui.",
                    follow_ups=None,
                    context=_ctx(officer, "pps_officer"),
                )
            for index in range(len(follow_ups)):
                if rng.random() < 0.6:
                    visit.resolve_follow_up(index=index, resolution="Selesai", context=_ctx(officer, "pps_officer"))
            yield visit
        for _ in range(rng.choices((0, 1, 2, 3), weights=(40, 35, 15, 10))[0]):
            cid = new_id()
            complaint = Complaint(
                id=cid,
                committee=code,
                category=rng.choice(CATEGORIES),
                description="Laporan warga.",
                complainant=None,
                fingerprint=hashlib.sha256(cid.bytes).hexdigest(),
                context=_ctx(officer, "pps_officer", str(cid)),
            )
            if rng.random() < 0.8:
                complaint.acknowledge(note="", context=_ctx(supervisor, "ppk_officer"))
                if rng.random() < 0.6:
                    complaint.investigate(note="", context=_ctx(supervisor, "ppk_officer"))
                    ending = rng.random()
                    if ending < 0.6:
                        complaint.resolve(reason="Ditangani", context=_ctx(supervisor, "ppk_officer"))
                    elif ending < 0.8:
                        complaint.escalate(
                            target="bawaslu", reason="Perlu Bawaslu", context=_ctx(supervisor, "ppk_officer")
                        )
                    else:
                        complaint.dismiss(reason="Tidak terbukti", context=_ctx(supervisor, "ppk_officer"))
            yield complaint
        for _ in range(rng.randint(0, 6)):
            rid = new_id()
            correction = RegistrationCorrection(
                id=rid,
                committee=code,
                kind="fix_personal_data",
                nik=f"{rng.randrange(10**15, 10**16)}",
                full_name="Warga",
                tps="TPS 001",
                target_tps=None,
                tms_reason=None,
                details="",
                fingerprint=hashlib.sha256(rid.bytes).hexdigest(),
                context=_ctx(officer, "pps_officer", str(rid)),
            )
            if rng.random() < 0.7:
                correction.verify(note="", context=_ctx(officer, "pps_officer"))
                if rng.random() < 0.8:
                    if rng.random() < 0.85:
                        correction.approve(reason="Sesuai dokumen", context=_ctx(supervisor, "ppk_officer"))
                    else:
                        correction.reject(reason="Dokumen kurang", context=_ctx(supervisor, "ppk_officer"))
            yield correction


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(instance_path=Path(args.instance).resolve(), database_url=args.database_url or None)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(args: argparse.Namespace) -> dict[str, Any]:
    """Write the country's history, many aggregates per save (one transaction each)."""
    from server.services import build_application

    committees = country(args.scale, args.seed)
    application = build_application(_settings(args))
    started = time.perf_counter()
    batch: list[Any] = []
    kinds: collections.Counter[str] = collections.Counter()
    samples: dict[str, list[str]] = {"visit": [], "complaint": [], "correction": []}
    rng = random.Random(args.seed)
    try:
        for aggregate in histories(committees, args.seed):
            kind = {MonitoringVisit: "visit", Complaint: "complaint", RegistrationCorrection: "correction"}.get(
                type(aggregate)
            )
            if kind and len(samples[kind]) < 300 and rng.random() < 0.05:
                samples[kind].append(str(aggregate.id))
            batch.append(aggregate)
            if len(batch) >= args.batch:
                kinds.update(type(e).__qualname__ for a in batch for e in a.pending_events)
                application.save(*batch)
                batch = []
        if batch:
            kinds.update(type(e).__qualname__ for a in batch for e in a.pending_events)
            application.save(*batch)
        seconds = time.perf_counter() - started
        events = application.recorder.max_notification_id() or 0
    finally:
        application.close()
    pps = [c for c, _, parent in committees if parent]
    sample = {"pps": rng.sample(pps, min(200, len(pps))), "records": samples}
    (Path(args.instance) / SAMPLE_FILE).write_text(json.dumps(sample))
    return {
        "scale": args.scale,
        "ppk": len(committees) - len(pps),
        "pps": len(pps),
        "events": events,
        "generate_s": seconds,
        "events_per_s": events / seconds if seconds else 0.0,
        "event_types": dict(kinds),
    }


def _timed_reads(call: Any, items: list[Any]) -> dict[str, float]:
    times = []
    for item in items:
        started = time.perf_counter()
        call(item)
        times.append(time.perf_counter() - started)
    times.sort()
    return {
        "p50_ms": times[len(times) // 2] * 1000,
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
        "n": len(times),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Bare decode of the whole log, then a full rebuild through the Worker (`--rounds` times, in turns;
    the round with the median ratio reported), then status reads."""
    from datetime import UTC, datetime

    from projections.read import AlertRules
    from projections.read.status import committee_status
    from projections.rebuild import rebuild
    from server.domain.roles import Actor
    from server.worker_process import build_worker
    from tests.bench.bench_projections import decode_log

    settings = _settings(args)
    worker = build_worker(settings)
    application = worker.application
    try:
        end = application.recorder.max_notification_id() or 0
        rounds = []  # (bare seconds, events decoded, rebuild seconds, events applied), in turns
        for _ in range(max(1, args.rounds)):
            started = time.perf_counter()
            decoded = decode_log(application, 500)
            bare_s = time.perf_counter() - started
            started = time.perf_counter()
            # What `pantau projections rebuild` does: drop, replay, then build the secondary indexes.
            applied = rebuild(worker, [view.name for view in worker.views])
            rounds.append((bare_s, decoded, time.perf_counter() - started, applied))
        # The round whose own ratio is the median stands for the run: on these shared machines the bare
        # rate alone swings by half between minutes, and a round's two runs share its conditions.
        ratios = sorted(((bare / rebuilt), n) for n, (bare, _, rebuilt, _) in enumerate(rounds))
        bare_s, decoded, rebuild_s, applied = rounds[ratios[len(ratios) // 2][1]]
        sample = json.loads((Path(args.instance) / SAMPLE_FILE).read_text())
        admin = Actor("bench", "bench", "kpu_admin", None)
        reads: dict[str, Any] = {}
        now = datetime.now(UTC)

        def status(code: str) -> Any:
            with worker.db.transaction() as cur:
                return committee_status(cur, code, "PPS", now, AlertRules())

        reads["pps_status_readmodel"] = _timed_reads(status, sample["pps"])
        visits = sample["records"]["visit"]
        reads["visit_record_store"] = _timed_reads(
            lambda rid: application.get_record(admin, "visit", uuid.UUID(rid)), visits
        )
        return {
            "events": end,
            "decoded": decoded,
            "bare_decode_s": bare_s,
            "bare_events_per_s": decoded / bare_s if bare_s else 0.0,
            "applied": applied,
            "rebuild_s": rebuild_s,
            "rebuild_events_per_s": end / rebuild_s if rebuild_s else 0.0,
            "round_ratios": [round(ratio, 3) for ratio, _ in ratios],
            "views": len(worker.views),
            "reads": reads,
            "worker_peak_rss_mb": peak_rss_mb(),
        }
    finally:
        application.close()
        worker.db.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.national", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("generate", "measure", "count"))
    parser.add_argument("--scale", default="1x", help="1x, 10x, 100x (Pangkalpinang) or national[:N provinces]")
    parser.add_argument("--instance", default="instance-bench")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=200, help="aggregates per save (one transaction)")
    parser.add_argument("--rounds", type=int, default=1, help="measure: bare decode and rebuild, in turns")
    args = parser.parse_args(argv)
    if args.command == "count":
        committees = country(args.scale, args.seed)
        result: dict[str, Any] = {"committees": len(committees), "pps": sum(1 for c in committees if c[2])}
    elif args.command == "generate":
        result = generate(args)
    else:
        result = measure(args)
    print(json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    sys.exit(main())
