"""A real aas-server under gunicorn on a free localhost port, for tests and benchmarks."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GunicornServer:
    """``with GunicornServer({"AAS_DATA_DIR": ...}) as server: requests.get(server.url + "/api/v3.1/shells")``."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, threads: int = 4, log_dir: Path | None = None,
                 app: str = "aas_server.wsgi:app", extra_binds: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        binds = ",".join((f"127.0.0.1:{self.port}", *extra_binds))  # extra listeners, e.g. of output ports
        self._env = {**os.environ, **env, "AAS_BIND": binds, "AAS_WORKERS": str(workers),
                     "AAS_THREADS": str(threads), "AAS_ACCESS_LOG": ""}
        self._log_path = (log_dir or Path(env.get("AAS_DATA_DIR", "."))) / f"gunicorn-{self.port}.log"
        self._app = app
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "GunicornServer":
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._log_path, "wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), self._app],
                cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_tail()}")
            try:
                requests.get(f"{self.url}/api/v3.1/description", timeout=2)
                return self
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn did not answer within 60 s: {self.log_tail()}")

    @property
    def pid(self) -> int:
        """The gunicorn arbiter's process id (its workers are its children)."""
        assert self._process is not None
        return self._process.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
