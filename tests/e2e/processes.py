"""Starting and stopping real processes for end-to-end tests, without sleep-based waiting."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pantau_command(*args: str) -> list[str]:
    """The `pantau` console script of this interpreter's environment."""
    return [sys.executable, "-c", "from server.cli import main; main()", *args]


def start(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a process in its own session, its output going to a file we can show on failure."""
    with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, cwd=REPO, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_until_healthy(
    base_url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 60
) -> dict[str, Any]:
    """Poll /healthz until it answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)  # polling interval while the server boots, not synchronisation on a guess
    raise AssertionError(f"{base_url} not healthy after {timeout}s:\n{log_path.read_text(errors='replace')}")


def stop(process: subprocess.Popen[bytes], sig: int = 15, timeout: float = 30) -> int:
    """Signal the whole process group and wait for it to end."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=timeout)
    return process.returncode


def call(
    base_url: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, dict[str, str], Any]:
    """One HTTP request with the standard library; (status, headers, parsed JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw) if raw else None


def call_text(base_url: str, path: str) -> str | None:
    """A GET answered with text, or None on any error status."""
    try:
        with urllib.request.urlopen(base_url + path, timeout=30) as response:
            return response.read().decode()
    except urllib.error.HTTPError:
        return None


def wait_for(condition: Any, timeout: float) -> Any:
    """Poll a condition until it returns something truthy; None after the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)  # polling interval, not synchronisation on a guess
    return None
