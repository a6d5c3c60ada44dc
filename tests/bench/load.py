"""The load generator for both sides of every HTTP ratio: wrk (with a Lua script for unique ids) when
installed, else a small asyncio HTTP/1.1 keep-alive client. Same requests, same connections, both sides.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from tests.bench.common import percentile
from tests.factories import complaint_body, correction_body, visit_body

ID_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"
COMMITTEE_PLACEHOLDER = "99.99.99.9999"
INGEST_PATHS = ("/api/v1/visits", "/api/v1/complaints", "/api/v1/corrections")


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: tuple[float, float] | None = None  # (web processes, PostgreSQL) CPU per request, when measured

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# (token, committee) per signed-in officer; requests rotate over them, as many phones would.
Officers = list[tuple[str, str]]


def ingest_templates() -> list[tuple[str, str]]:
    """(path, JSON body with placeholder id and committee) for the three kinds of report, in rotation."""
    bodies = (
        visit_body(COMMITTEE_PLACEHOLDER),
        complaint_body(COMMITTEE_PLACEHOLDER),
        correction_body(COMMITTEE_PLACEHOLDER),
    )
    return [(path, json.dumps({**body, "id": ID_PLACEHOLDER})) for path, body in zip(INGEST_PATHS, bodies, strict=True)]


def tool() -> str:
    """wrk if installed (apt-get install wrk), else the asyncio client; PANTAU_BENCH_LOAD=python forces the latter."""
    if os.environ.get("PANTAU_BENCH_LOAD") == "python":
        return "python"
    return "wrk" if shutil.which("wrk") else "python"


def run_load(
    base_url: str, kind: str, officers: Officers, connections: int, seconds: float, generator: str | None = None
) -> LoadResult:
    """Drive `kind` ('ingest' or 'read') at base_url for `seconds` with `connections` keep-alive connections.

    Request i is sent as officer i mod len(officers), for that officer's own committee; the baseline gets
    the very same requests (it ignores the token).
    """
    if (generator or tool()) == "wrk":
        return _run_wrk(base_url, kind, officers, connections, seconds)
    return asyncio.run(_run_python(base_url, kind, officers, connections, seconds))


# --- wrk ------------------------------------------------------------------------------------

LUA = r"""
local templates = { %(templates)s }
local officers = { %(officers)s }
local prefix = "%(prefix)s"
local out = "%(out)s"
local ingest = %(ingest)s
local counter = 0
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  headers = {}
  for i, o in ipairs(officers) do
    headers[i] = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. o[1] }
  end
end

if ingest then
  request = function()
    counter = counter + 1
    local t = templates[(counter %% #templates) + 1]
    local o = (counter %% #officers) + 1
    local high, low = math.floor(counter / 281474976710656), counter %% 281474976710656
    local id = string.format("%%s-4%%03x-8%%03x-%%012x", prefix, tid, high, low)
    local body = string.gsub(string.gsub(t[2], "%(placeholder)s", id), "%(committee_placeholder)s", officers[o][2])
    return wrk.format("POST", t[1], headers[o], body)
  end
else
  request = function()
    counter = counter + 1
    local o = (counter %% #officers) + 1
    return wrk.format("GET", "/api/v1/committees/" .. officers[o][2], headers[o])
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local f = io.open(out, "w")
  f:write(string.format('{"requests": %%d, "duration_us": %%d, "errors": %%d, "p50_us": %%d, "p99_us": %%d}',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
  f:close()
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for ASCII text


def _run_wrk(base_url: str, kind: str, officers: Officers, connections: int, seconds: float) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="pantau-wrk-") as tmp:
        out = Path(tmp) / "out.json"
        script = Path(tmp) / "load.lua"
        templates = ", ".join(f"{{ {_lua_string(p)}, {_lua_string(b)} }}" for p, b in ingest_templates())
        script.write_text(
            LUA
            % {
                "templates": templates,
                "officers": ", ".join(f"{{ {_lua_string(t)}, {_lua_string(c)} }}" for t, c in officers),
                "prefix": str(uuid.uuid4())[:13],
                "out": str(out),
                "ingest": "true" if kind == "ingest" else "false",
                "placeholder": ID_PLACEHOLDER.replace("-", "%-"),
                "committee_placeholder": COMMITTEE_PLACEHOLDER.replace(".", "%."),
            }
        )
        threads = min(2, connections)
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base_url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")
        data = json.loads(out.read_text())
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"],
    )


# --- asyncio fallback -----------------------------------------------------------------------


async def _connection(
    host: str,
    port: int,
    kind: str,
    officers: Officers,
    offset: int,
    deadline: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    templates = [(p, b.encode()) for p, b in ingest_templates()]
    count = offset
    try:
        while time.perf_counter() < deadline:
            token, committee = officers[count % len(officers)]
            auth = f"Authorization: Bearer {token}\r\n"
            if kind == "ingest":
                path, template = templates[count % len(templates)]
                body = template.replace(ID_PLACEHOLDER.encode(), str(uuid.uuid4()).encode())
                body = body.replace(COMMITTEE_PLACEHOLDER.encode(), committee.encode())
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{auth}"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                request = head.encode() + body
            else:
                request = f"GET /api/v1/committees/{committee} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n".encode()
            count += 1
            started = time.perf_counter()
            writer.write(request)
            head_bytes = await reader.readuntil(b"\r\n\r\n")
            status = int(head_bytes.split(b" ", 2)[1])
            length = 0
            for line in head_bytes.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not 200 <= status < 400:
                errors.append(status)
    finally:
        writer.close()


async def _run_python(base_url: str, kind: str, officers: Officers, connections: int, seconds: float) -> LoadResult:
    url = urlparse(base_url)
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _connection(url.hostname or "127.0.0.1", url.port or 80, kind, officers, i, deadline, latencies, errors)
            for i in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    if not latencies:
        return LoadResult(0, elapsed, 0.0, 0.0, len(errors))
    return LoadResult(
        len(latencies), elapsed, percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000, len(errors)
    )
