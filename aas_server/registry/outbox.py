"""Pushing this server's shell descriptors into an external AAS Registry (a Catena-X DTR), from a durable outbox.

Every change of a shell descriptor queues a record (collection ``registry_outbox``, key = time + random suffix)
in the store, in the same call as the change. :class:`Pusher` (``aas-server registry-push``, one process) sends
the descriptor's *current* state for each due record (PUT, or DELETE once it is gone) and deletes the record only
after the registry acknowledged; a failure is logged, kept on the record (``attempts``, ``lastError``) and retried
with exponential back-off, so no change is lost while the registry is down. ``GET /internal/registry/outbox``
reports what is pending and failing.
"""
from __future__ import annotations

import datetime
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid

from ..errors import InvalidRequestError, NotFoundError
from ..model.ids import encode_id
from ..settings import Settings
from ..store.base import JSON, Store, iterate
from .descriptors import EndpointStyle, render

logger = logging.getLogger(__name__)

COLLECTION = "registry_outbox"
#: longest wait between two attempts of one record, in seconds
MAX_BACKOFF_S = 300.0
TIMEOUT_S = 30.0


def enqueue(store: Store, shell_id: str) -> None:
    key = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    store.put_record(COLLECTION, key, {"key": key, "shellId": shell_id, "queued": _now(), "attempts": 0})


def status(store: Store) -> JSON:
    """What waits to be pushed, and the records whose last attempt failed (with the error)."""
    records = list(iterate(lambda page: store.find_records(COLLECTION, page)))
    return {"pending": len(records), "failing": [r for r in records if r.get("attempts")]}


class PushError(Exception):
    """The external registry did not accept a request (network error or a status other than 2xx/expected)."""


class Pusher:
    """Sends queued shell descriptors to ``settings.registry_push_url``.

    :raises InvalidRequestError: no push URL, or no ``public_base_url`` to build absolute endpoint hrefs from
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        if not settings.registry_push_url or not settings.public_base_url:
            raise InvalidRequestError("registry push needs registry_push_url and public_base_url",
                                      path="AAS_REGISTRY_PUSH_URL")
        self.store = store
        self.url = settings.registry_push_url.rstrip("/")
        self.style = EndpointStyle(settings.public_base_url, settings.registry_subprotocol,
                                   settings.registry_subprotocol_body, settings.registry_subprotocol_body_encoding)
        self.interval = settings.registry_push_interval_s

    def push_due(self) -> tuple[int, int]:
        """One round over the outbox; returns (pushed, failed)."""
        pushed = failed = 0
        now = time.time()
        for record in list(iterate(lambda page: self.store.find_records(COLLECTION, page))):
            if record.get("nextAttempt", 0) > now:
                continue
            try:
                self._send(record["shellId"])
            except PushError as e:
                failed += 1
                attempts = record.get("attempts", 0) + 1
                logger.warning("registry push of %s failed (attempt %d): %s", record["shellId"], attempts, e)
                self.store.put_record(COLLECTION, record["key"], {
                    **record, "attempts": attempts, "lastError": str(e), "lastAttempt": _now(),
                    "nextAttempt": now + min(MAX_BACKOFF_S, 2.0 ** attempts)})
                continue
            pushed += 1
            try:
                self.store.delete_record(COLLECTION, record["key"])
            except NotFoundError:
                pass
        return pushed, failed

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.push_due()
            stop.wait(self.interval)

    def _send(self, shell_id: str) -> None:
        target = f"{self.url}/shell-descriptors/{encode_id(shell_id)}"
        try:
            descriptor = self.store.get("shell_descriptor", shell_id)
        except NotFoundError:
            self._request("DELETE", target, None, (204, 404))
            return
        body = render(descriptor, self.style, None, ())
        self._request("PUT", target, body, (201, 204))

    @staticmethod
    def _request(method: str, url: str, body: JSON | None, accepted: tuple[int, ...]) -> None:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                code = response.status
        except urllib.error.HTTPError as e:
            code = e.code
            if code not in accepted:
                raise PushError(f"{method} {url}: HTTP {code} {e.read()[:300]!r}") from e
        except (urllib.error.URLError, OSError) as e:
            raise PushError(f"{method} {url}: {e}") from e
        if code not in accepted:
            raise PushError(f"{method} {url}: HTTP {code}")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")

