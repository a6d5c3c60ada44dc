"""The pipeline's writer process (projections/pipeline.py): commits the batches the worker projected.

A module of its own so that the fresh interpreter imports only what committing needs: its start is
time the worker spends alone, about a tenth of a 20,000-event rebuild when it imported the pipeline.
"""

from __future__ import annotations

import os
import sys
from multiprocessing.connection import Connection
from typing import Any

from projections.checkpointer import BackgroundCheckpoints
from projections.commit import commit_batch
from projections.db import Cursor, Database

READY = "ready"
WRITES = ("insert_many", "append_many")  # the bulk writes views may ask for while pipelined

# (method, arguments) of the bulk writes the views asked for, in order: what the writer replays.
Writes = list[tuple[str, tuple[Any, ...]]]


def replay(cur: Cursor, writes: Writes) -> None:
    """Run recorded writes on a real cursor, in the order the views asked for them."""
    for method, args in writes:
        if method not in WRITES:
            raise ValueError(f"not a recorded write: {method}")
        getattr(cur, method)(*args)


def serve(connection: Connection) -> None:
    """Open the database it is sent, then commit each batch it receives and answer (end position,
    committed?, error) in order."""
    sqlite_path, postgres_url = connection.recv()
    db = Database(sqlite_path=sqlite_path, postgres_url=postgres_url)
    # Connected before saying so: on PostgreSQL, importing psycopg and its pool alone takes a few tenths
    # of a second, which the worker would otherwise spend waiting for its first batches, not working alone.
    with db.statement() as cur:
        cur.execute("SELECT 1")
        cur.fetchall()
    checkpoints = BackgroundCheckpoints(db) if db.sqlite_path is not None else None
    connection.send(READY)
    try:
        while True:
            try:
                message = connection.recv()
            except EOFError:
                return  # the reading process is gone; everything received is committed
            if message is None:
                return
            names, start, end, last_time, writes = message
            if checkpoints is not None:
                checkpoints.restart_log_if_due()
            try:
                committed = commit_batch(db, names, start, end, last_time, lambda cur, w=writes: replay(cur, w))
                connection.send((end, committed, None))
            except Exception as error:  # reported to the reading process, which logs it
                connection.send((end, False, f"{type(error).__name__}: {error}"))
    finally:
        if checkpoints is not None:
            checkpoints.close()
        db.close()


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
    # Everything is committed and the database closed: skip the interpreter's teardown, which the
    # worker would otherwise wait for.
    sys.stdout.flush()
    os._exit(0)
