"""Start a real MongoDB-wire server (embedded FerretDB, SQLite backend) for tests.

There is no mongod on the build machines, so ``deploy/ferretdb`` holds a tiny Go
main module that embeds FerretDB v1.24. This module builds it once (cached by a
hash of its sources) and runs it as a subprocess.

Usage::

    from tests.harness.ferretdb import FerretDB

    with FerretDB(tmp_path / "ferret") as fdb:
        client = pymongo.MongoClient(fdb.uri)

Command line (handy for manual runs and benchmarks)::

    python -m tests.harness.ferretdb DATA_DIR [--port N] [--log-level info] [--serialize-writes]

Environment:

``AAS_FERRETDB_BINARY``
    use this prebuilt binary instead of building one.
``GO``
    the go command to build with (default: ``go`` on PATH, else /usr/local/go/bin/go).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import IO, Any

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE_DIR = REPO_ROOT / "deploy" / "ferretdb"
SOURCE_FILES = ("go.mod", "go.sum", "main.go")

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
BUILD_TIMEOUT = 1800.0


def cache_dir() -> pathlib.Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(base) / "aas-server"


def source_digest() -> str:
    """First 16 hex digits of the sha256 of go.mod + go.sum + main.go."""
    h = hashlib.sha256()
    for name in SOURCE_FILES:
        h.update((SOURCE_DIR / name).read_bytes())
    return h.hexdigest()[:16]


def _go_command() -> str:
    go = os.environ.get("GO") or shutil.which("go")
    if not go and os.access("/usr/local/go/bin/go", os.X_OK):
        go = "/usr/local/go/bin/go"
    if not go:
        raise RuntimeError(
            "cannot build FerretDB: the 'go' command was not found "
            "(install Go >= 1.24, put it on PATH or set GO=/path/to/go)"
        )
    return go


def build_binary() -> pathlib.Path:
    """Return the path of the FerretDB binary, building it if not cached yet.

    The binary is cached as ``~/.cache/aas-server/ferretdb-<digest>``. An
    exclusive file lock makes parallel callers (pytest-xdist workers) wait for
    one build instead of each running their own.
    """
    override = os.environ.get("AAS_FERRETDB_BINARY")
    if override:
        path = pathlib.Path(override)
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"AAS_FERRETDB_BINARY={override} is not an executable file")
        return path

    target = cache_dir() / f"ferretdb-{source_digest()}"
    if os.access(target, os.X_OK):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "ferretdb-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if os.access(target, os.X_OK):  # built by someone else while we waited
                return target
            _go_build(target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


def _go_build(target: pathlib.Path) -> None:
    go = _go_command()
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = pathlib.Path(tmp_name)
    # FerretDB's SQLite driver (modernc.org/sqlite) is pure Go: no cgo needed,
    # and a static binary does not depend on the host's libc.
    env = dict(os.environ, CGO_ENABLED="0")
    cmd = [go, "build", "-trimpath", "-buildvcs=false", "-o", str(tmp), "."]
    try:
        try:
            proc = subprocess.run(
                cmd,
                cwd=SOURCE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=BUILD_TIMEOUT,
            )
        except FileNotFoundError as exc:
            raise RuntimeError(f"cannot build FerretDB: {go!r} not found ({exc})") from exc
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(
                f"building FerretDB timed out after {BUILD_TIMEOUT:.0f}s:\n{exc.output or ''}"
            ) from exc
        if proc.returncode != 0:
            raise RuntimeError(
                f"building FerretDB failed ({' '.join(cmd)} in {SOURCE_DIR}, "
                f"exit code {proc.returncode}):\n{proc.stdout}"
            )
        tmp.chmod(0o755)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _tail(path: pathlib.Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


class FerretDB:
    """A FerretDB server on a free localhost port, storing its data in ``data_dir``.

    Use as a context manager (or call :meth:`start` / :meth:`stop`). The
    SQLite files (one ``<database>.sqlite`` per database) and ``ferretdb.log``
    (the server's stdout and stderr) live in ``data_dir``.

    FerretDB 1.24 does not apply an update to one document atomically:
    concurrent ``update_one``/``find_one_and_update`` calls on the same
    document can lose writes, and a compare-and-set on a version field can
    succeed for two writers. ``serialize_writes=True`` puts a proxy in front
    that runs write commands one at a time, which gives MongoDB's
    single-document atomicity back (reads stay concurrent).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        log_level: str = "error",
        port: int | None = None,
        serialize_writes: bool = False,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.data_dir = pathlib.Path(data_dir).resolve()
        self.log_path = self.data_dir / "ferretdb.log"
        self.log_level = log_level
        self.serialize_writes = serialize_writes
        self.start_timeout = start_timeout
        self._requested_port = port
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def uri(self) -> str:
        if self.port is None:
            raise RuntimeError("FerretDB is not started")
        return f"mongodb://{self.host}:{self.port}/"

    def client(self, **kwargs: Any):
        """A new pymongo client for this server (caller closes it)."""
        import pymongo

        return pymongo.MongoClient(self.uri, **kwargs)

    def start(self) -> "FerretDB":
        if self.proc is not None:
            raise RuntimeError("FerretDB already started")
        binary = build_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        # A port picked by free_port() may be taken by someone else before the
        # server binds it; retry a few times with a new one in that case.
        attempts = 1 if self._requested_port else 5
        for attempt in range(attempts):
            self.port = self._requested_port or free_port(self.host)
            log_offset = self.log_path.stat().st_size
            cmd = [
                str(binary),
                "-listen-addr", f"{self.host}:{self.port}",
                "-data-dir", str(self.data_dir),
                "-log-level", self.log_level,
                "-exit-on-stdin-eof",
            ]
            if self.serialize_writes:
                cmd.append("-serialize-writes")
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,  # server exits when we die and the pipe closes
                stdout=self._log,
                stderr=subprocess.STDOUT,
                # Ctrl-C in a terminal reaches only us; stop() then shuts the server down.
                start_new_session=True,
            )
            try:
                self._wait_ready()
                return self
            except _ExitedEarly:
                self.proc = None
                new_output = self.log_path.read_bytes()[log_offset:]
                if b"address already in use" in new_output and attempt + 1 < attempts:
                    continue
                self.stop()
                raise RuntimeError(
                    f"FerretDB exited during start-up; log {self.log_path}:\n{_tail(self.log_path)}"
                ) from None
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")

    def _wait_ready(self) -> None:
        import pymongo
        import pymongo.errors

        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise _ExitedEarly()
            # Wait for the port cheaply first: a refused pymongo attempt costs
            # its whole server selection timeout.
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
            except OSError as exc:
                last_error = exc
                time.sleep(0.02)
                continue
            client = pymongo.MongoClient(
                self.uri,
                serverSelectionTimeoutMS=2000,
                connectTimeoutMS=2000,
                directConnection=True,
            )
            try:
                client.admin.command("ping")
                return
            except pymongo.errors.PyMongoError as exc:
                last_error = exc
            finally:
                client.close()
            time.sleep(0.1)
        raise RuntimeError(
            f"FerretDB did not answer ping on {self.uri} within {self.start_timeout:.0f}s "
            f"(last error: {last_error}); log {self.log_path}:\n{_tail(self.log_path)}"
        )

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "FerretDB":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _ExitedEarly(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.harness.ferretdb",
        description="Run an embedded FerretDB (SQLite backend) until Ctrl-C.",
    )
    parser.add_argument("data_dir", help="directory for the SQLite files and ferretdb.log")
    parser.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    parser.add_argument("--log-level", default="error", help="debug, info, warn or error")
    parser.add_argument(
        "--serialize-writes",
        action="store_true",
        help="run write commands one at a time (atomic single-document updates)",
    )
    args = parser.parse_args(argv)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Stop cleanly on SIGTERM, and on SIGINT even when started as a background job (which ignores it).
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)

    started = time.monotonic()
    with FerretDB(
        args.data_dir, port=args.port, log_level=args.log_level, serialize_writes=args.serialize_writes
    ) as fdb:
        print(fdb.uri, flush=True)
        print(
            f"ready in {time.monotonic() - started:.2f}s; log: {fdb.log_path}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        try:
            while fdb.proc is not None and fdb.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        else:
            print(f"FerretDB exited; log {fdb.log_path}:\n{_tail(fdb.log_path)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
