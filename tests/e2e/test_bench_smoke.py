"""The benchmark harness still runs: its quickest path, a short SQLite ingest beside the bare baseline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.common import REPO

pytestmark = pytest.mark.e2e


def test_bench_harness_ingests_through_gunicorn_beside_the_bare_baseline(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--smoke", "--connections", "4", "--seconds", "2"],
        cwd=REPO,
        env={**os.environ, "PANTAU_BENCH_RESULTS": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads((tmp_path / "results.json").read_text())["figures"]
    (ingest,) = [f for f in figures if f["bench"] == "ingest"]
    # Both sides answered, and without errors: the harness measured something real.
    assert ingest["ours"] > 0 and ingest["baseline"] > 0, ingest
    assert "errors: ours 0, bare 0" in ingest["note"], ingest
