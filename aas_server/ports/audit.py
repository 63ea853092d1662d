"""Disclosure audit of external ports: who received which elements, in which masked form, when.

While a request of an external port is served, :func:`record_disclosure` collects what the port policy released
(a list in a context variable, one per request). When the response is ready, :meth:`AuditLog.submit` queues one
record and returns its release id, which the response carries in ``X-Release-Id``. A background thread writes the
queued records to the store (collection ``audit``, keyed by the release id, which sorts by time) in batches, so the
response does not wait for the store; :meth:`AuditLog.close` (also at interpreter exit) writes what is left.
"""
from __future__ import annotations

import atexit
import contextlib
import contextvars
import datetime
import logging
import queue
import secrets
import threading
import time
from collections.abc import Iterator

from ..errors import InvalidRequestError
from ..security.caller import Caller
from ..store.base import JSON, Page, PageRequest, Store

logger = logging.getLogger(__name__)

COLLECTION = "audit"
#: element paths kept per record and (submodel, form); more are counted, not listed
MAX_PATHS_PER_GROUP = 5000

_disclosures: contextvars.ContextVar[list[tuple[str | None, str | None, str]] | None] = contextvars.ContextVar(
    "aas_disclosures", default=None)


def record_disclosure(submodel_id: str | None, path: str | None, form: str) -> None:
    """Note that the current response releases ``path`` of ``submodel_id`` (or the identifiable, ``path`` None)
    in ``form`` (``raw``, ``dropped``, ``redacted``, ``hmac``, ``token``, ``generalized``, ``dp:<release-id>`` or
    ``withheld``). Outside an audited request (internal ports, CLI, adapters) it does nothing."""
    collected = _disclosures.get()
    if collected is not None:
        collected.append((submodel_id, path, form))


@contextlib.contextmanager
def collecting() -> Iterator[list[tuple[str | None, str | None, str]]]:
    """Collect the disclosures of the code run inside (one request)."""
    collected: list[tuple[str | None, str | None, str]] = []
    token = _disclosures.set(collected)
    try:
        yield collected
    finally:
        _disclosures.reset(token)


def new_release_id(now: datetime.datetime | None = None) -> str:
    """``20261125T152037123456Z-1f2e3d4c5b6a``: sorts by time, unique across processes."""
    now = now or datetime.datetime.now(datetime.UTC)
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(6)}"


def since_key(text: str) -> str:
    """The key after which records of ``text`` (ISO 8601; UTC without zone) and later sort.

    :raises InvalidRequestError:
    """
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError("since must be an ISO 8601 timestamp", path="since") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def disclosure_groups(collected: list[tuple[str | None, str | None, str]]) -> list[JSON]:
    """Disclosures grouped by submodel and form, element paths in first-served order without repeats."""
    groups: dict[tuple[str | None, str], dict[str, None]] = {}
    for submodel_id, path, form in collected:
        groups.setdefault((submodel_id, form), {})[path or ""] = None
    result = []
    for (submodel_id, form), paths in groups.items():
        listed = list(paths)
        group: JSON = {"submodelId": submodel_id, "form": form,
                       "paths": [p for p in listed[:MAX_PATHS_PER_GROUP] if p]}
        if len(listed) > MAX_PATHS_PER_GROUP:
            group["pathsNotListed"] = len(listed) - MAX_PATHS_PER_GROUP
        result.append(group)
    return result


def audit_record(release_id: str, caller: Caller | None, port: str, request: JSON,
                 collected: list[tuple[str | None, str | None, str]]) -> JSON:
    """The stored record: who (port, subject, BPN, agreement), what (disclosures), when, which request."""
    return {
        "releaseId": release_id,
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds"),
        "port": port,
        "subject": caller.subject if caller else None,
        "bpn": caller.bpn if caller else None,
        "contractAgreement": caller.contract_agreement if caller else None,
        "roles": sorted(caller.roles) if caller else [],
        **request,
        "disclosures": disclosure_groups(collected),
    }


class AuditLog:
    """Writes audit records to ``store`` from a background thread, ``batch_size`` at a time or after
    ``flush_interval_s``. A failing store is retried (the records stay queued, never dropped); a full queue
    (``max_queued``, which bounds the memory held) makes responses wait rather than lose records.

    The writer waits for the first record of a batch, then sleeps until the interval is over or a batch is full
    (signalled once per batch, not per record: waking the writer per response costs a thread switch per
    response), and takes what is queued without waiting."""

    def __init__(self, store: Store, batch_size: int = 200, flush_interval_s: float = 0.5,
                 max_queued: int = 10_000) -> None:
        self.store = store
        self.batch_size = max(1, batch_size)
        self.flush_interval_s = flush_interval_s
        self._queue: queue.Queue[JSON | None] = queue.Queue(max_queued)
        #: queued records that make the writer start before its interval is over
        self._enough = min(self.batch_size, max_queued) if max_queued > 0 else self.batch_size
        self._due = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def submit(self, record: JSON) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put(record)
        if self._queue.qsize() >= self._enough and not self._due.is_set():
            self._due.set()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every submitted record is written; ``False`` if that took longer than ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                self._due.set()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._due.set()
        self._queue.put(None)  # the writer stores everything queued before this, then ends
        self._thread.join(timeout_s)
        if self._pending:
            logger.error("audit: %d records could not be written before shutdown", self._pending)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            self._due.wait(self.flush_interval_s)
            self._due.clear()
            batch = [first]
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._write(batch)
                    return
                batch.append(item)
                if len(batch) == self.batch_size:
                    self._write(batch)
                    batch = []
            if batch:
                self._write(batch)

    def _write(self, batch: list[JSON]) -> None:
        """One store write per batch, retried with back-off until the store takes it."""
        delay = 0.1
        while True:
            try:
                self.store.put_records(COLLECTION, [(record["releaseId"], record) for record in batch])
                break
            except Exception:
                logger.exception("audit: cannot write %d records from %s on; retrying", len(batch),
                                 batch[0]["releaseId"])
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        with self._idle:
            self._pending -= len(batch)
            self._idle.notify_all()


def list_records(store: Store, page: PageRequest) -> Page[JSON]:
    return store.find_records(COLLECTION, page)


def get_record(store: Store, release_id: str) -> JSON:
    """:raises NotFoundError:"""
    return store.get_record(COLLECTION, release_id)
