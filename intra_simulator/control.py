"""Start a simulator process and drive it through its admin routes (for the demo and tests)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import Request, urlopen

from intra_simulator.__main__ import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


class SimulatorProcess:
    """``python -m intra_simulator`` on a free loopback port, stopped on exit.

    ``args`` are the command line's flags, for example ``SimulatorProcess("tiny", 42,
    "--per-second", "0", "--start-at", "2026-10-27T12:00:00Z")``: ``--start-at`` starts the
    simulated clock at that instant (the locations cover the 35 days before it, so a test can
    place a change of summer time among them), ``--start-ago`` that many seconds before now,
    ``--locations-campus-list refuse`` makes /v2/locations refuse several campus ids."""

    client_id = DEFAULT_CLIENT_ID
    client_secret = DEFAULT_CLIENT_SECRET

    def __init__(
        self, scale: str = "tiny", seed: int = 42, *args: str, log_path: Path | None = None
    ) -> None:
        self.scale = scale
        self.seed = seed
        self.args = list(args)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout: float = 300.0) -> SimulatorProcess:
        # The simulator writes its URL here once it listens; the directory goes when read.
        ready_dir = Path(tempfile.mkdtemp(prefix="intra-sim-"))
        ready = ready_dir / "ready.json"
        argv = [
            sys.executable,
            "-m",
            "intra_simulator",
            "--scale",
            self.scale,
            "--seed",
            str(self.seed),
            "--port",
            "0",
            "--ready-file",
            str(ready),
            *self.args,
        ]
        log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
        try:
            self.url = self._wait_for_url(ready, time.monotonic() + timeout)
        finally:
            shutil.rmtree(ready_dir, ignore_errors=True)
        return self

    def _wait_for_url(self, ready: Path, deadline: float) -> str:
        while not ready.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"simulator exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("simulator did not start in time")
            time.sleep(0.05)
        return json.loads(ready.read_text())["url"]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def admin(self) -> SimulatorAdmin:
        return SimulatorAdmin(self.url)

    def env(self) -> dict[str, str]:
        """dlt settings that point the ELT at this simulator."""
        return {
            "SOURCES__INTRA__BASE_URL": self.url,
            "SOURCES__INTRA__CLIENT_ID": self.client_id,
            "SOURCES__INTRA__CLIENT_SECRET": self.client_secret,
        }


class SimulatorAdmin:
    """The ``/_sim/`` routes as methods."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def call(self, method: str, route: str, payload: object = None) -> object:
        data = json.dumps(payload).encode() if payload is not None else None
        request = Request(
            f"{self.url}/_sim/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def dump(self, collection: str) -> list[dict]:
        return self.call("GET", f"dump/{collection}")

    def stats(self) -> dict:
        return self.call("GET", "stats")

    def reset_stats(self) -> None:
        self.call("DELETE", "stats")

    def faults(self, *rules: dict) -> dict:
        return self.call("PUT", "faults", list(rules))

    def clear_faults(self) -> None:
        self.call("DELETE", "faults")

    def configure(self, **settings) -> dict:
        return self.call("PUT", "config", settings)

    def advance(self, seconds: float, activity: bool = True) -> dict:
        return self.call("POST", "advance", {"seconds": seconds, "activity": activity})

    def happen(self, intensity: float = 1.0) -> dict:
        """The activity of the real time since the last advance or happen, ``intensity``
        times the usual rates, without moving the clock; reports ``students``, the count
        the rates apply to."""
        return self.call("POST", "happen", {"intensity": intensity})

    def update(self, collection: str, record_id: int, values: dict, touch: bool = True) -> dict:
        return self.call(
            "POST",
            "update",
            {"collection": collection, "id": record_id, "values": values, "touch": touch},
        )

    def admit(self, user_id: int | None = None) -> dict:
        """Admit a pisciner to the main cursus now (any one, without an id): their new
        cursus_user, as served. Their user object does not change."""
        return self.call("POST", "admit", {} if user_id is None else {"user_id": user_id})

    def insert(self, collection: str, record: dict) -> dict:
        """Add a record in stored form as given (bad input: nothing but a new ``id`` is
        checked); returns it as served."""
        return self.call("POST", "insert", {"collection": collection, "record": record})

    def delete(self, collection: str, record_id: int) -> None:
        self.call("POST", "delete", {"collection": collection, "id": record_id})

    def changes(self, after: int = 0) -> list[dict]:
        """The simulator's change log: the entries whose ``seq`` is above ``after``."""
        return self.call("GET", f"changes?after={int(after)}")["changes"]

    def revoke(self, client: str = "") -> int:
        """Revoke the live tokens (of one app, given its uid); returns how many."""
        return self.call("POST", "revoke", {"client": client} if client else {})["revoked"]

    def add_app(self, uid: str, secret: str) -> dict:
        """Register another application: its own rate limit, tokens and faults."""
        return self.call("POST", "app", {"uid": uid, "secret": secret})
