"""A real gunicorn server for the phone-app tests that can be stopped and restarted on the same port
(the most faithful "network gone"), and a proxy that loses one answer after the server has acted."""

from __future__ import annotations

import http.client
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from uuid import UUID

from server.config import load_settings
from server.demo import ensure_demo_accounts, import_committees
from server.services import build_application
from server.worker_process import build_worker
from tests.e2e.processes import free_port, start, stop, wait_until_healthy


def app_serving_pwa_copy() -> object:
    """The real app, serving the phone app from PANTAU_TEST_PWA_DIR: lets a test ship a "new version"
    without touching the shared working tree."""
    import server.web
    from server.app import create_app

    server.web.PWA_DIR = Path(os.environ["PANTAU_TEST_PWA_DIR"]).resolve()
    return create_app()


class LiveServer:
    """gunicorn over a throwaway SQLite instance, seeded with the demo committees and accounts.
    With pwa_dir, it serves that copy of the phone app instead of pwa/; env adds settings (PANTAU_*)."""

    def __init__(self, instance: Path, pwa_dir: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.instance = instance
        self.pwa_dir = pwa_dir
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = load_settings(instance_path=instance)
        self.process = None
        self.starts = 0
        application = build_application(self.settings)
        import_committees(application)
        ensure_demo_accounts(application)
        application.close()
        # Committees are static here, so one catch-up fills the projection GET /committees reads.
        worker = build_worker(self.settings)
        worker.catch_up()
        worker.application.close()
        worker.db.close()

    def start(self) -> None:
        self.starts += 1
        log = self.instance / f"gunicorn-{self.starts}.log"
        env = {"PANTAU_INSTANCE_PATH": str(self.instance), "PANTAU_BIND": f"127.0.0.1:{self.port}",
               "PANTAU_WEB_WORKERS": "1", "PANTAU_PASSWORD_COST": "10", **self.extra_env}
        app = "server.app:create_app()"
        if self.pwa_dir:
            env["PANTAU_TEST_PWA_DIR"] = str(self.pwa_dir)
            app = "tests.e2e.pwa_live_server:app_serving_pwa_copy()"
        self.process = start([sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf", app], env, log)
        wait_until_healthy(self.url, self.process, log)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def topics(self, containing: str) -> list[tuple[UUID, str]]:
        """(originator, topic) of every event whose topic contains this text, in log order."""
        application = build_application(self.settings)
        try:
            notifications = application.recorder.select_notifications(start=1, limit=100000)
            return [(n.originator_id, n.topic) for n in notifications if containing in n.topic]
        finally:
            application.close()

    def events(self, record_id: str, topic_suffix: str) -> list[int]:
        """Log positions of the events with this topic for one record (read straight from the store)."""
        application = build_application(self.settings)
        try:
            notifications = application.recorder.select_notifications(start=1, limit=100000)
            wanted = UUID(record_id)
            return [n.id for n in notifications if n.originator_id == wanted and n.topic.endswith(topic_suffix)]
        finally:
            application.close()


REPORT_COLLECTIONS = ("visits", "complaints", "corrections")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class CuttingProxy(ThreadingHTTPServer):
    """Forwards to the server; for the next `cuts` report POSTs it waits for the server's answer, then
    closes the phone's connection without passing the answer on. Every response closes its connection,
    so the browser never silently retries on a reused socket: any retry is the app's own.

    `refusals` (path -> count) answers that many of a service worker's downloads of a path with 503
    (`refused` lists them): a shell file lost while the worker installs."""

    daemon_threads = True

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.cuts = 0
        self.cut_endings = REPORT_COLLECTIONS  # which POSTs (by the path's last segment) may lose their answer
        self.cut_paths: list[str] = []
        self.posts: list[tuple[str, bytes]] = []
        self.refusals: dict[str, int] = {}
        self.refused: list[str] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", free_port()), _Forward)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def take_cut(self, method: str, path: str) -> bool:
        with self.lock:
            is_report = method == "POST" and path.rstrip("/").rsplit("/", 1)[-1] in self.cut_endings
            if is_report and self.cuts:
                self.cuts -= 1
                self.cut_paths.append(path)
                return True
            return False

    def take_refusal(self, method: str, path: str, destination: str | None) -> bool:
        with self.lock:
            # A worker's fetch() has no destination ("empty"); the page's own stylesheet or script has one.
            if method == "GET" and destination == "empty" and self.refusals.get(path, 0) > 0:
                self.refusals[path] -= 1
                self.refused.append(path)
                return True
            return False


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CuttingProxy

    def forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command == "POST":
            self.server.posts.append((self.path, body))
        self.close_connection = True
        if self.server.take_refusal(self.command, self.path, self.headers.get("Sec-Fetch-Dest")):
            self.send_response_only(503)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream.request(self.command, self.path, body=body or None, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        self.close_connection = True
        if self.server.take_cut(self.command, self.path):
            self.connection.shutdown(socket.SHUT_RDWR)  # the server has acted; the phone hears nothing
            return
        self.send_response_only(response.status)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PUT = forward

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: test output shows only failures."""
