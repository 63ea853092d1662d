"""Policy files that take effect without a restart: access rules and masking profiles.

A policy file is parsed once and then looked at again at most once per :attr:`WatchedFile.CHECK_INTERVAL_S`
(a ``stat``; the content is read and hashed only when mtime or size moved, and parsed only when the hash did).
A broken new version is refused with its errors logged once, and the version loaded before stays in force:
operators editing a file by hand must never open a port by a typo. Only the first load raises.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from typing import Generic, TypeVar

from ..errors import InvalidRequestError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class WatchedFile(Generic[T]):
    """The parsed content of a file, reloaded when the file changes. Subclasses say how to parse it.

    :raises InvalidRequestError: (from the constructor) the file is missing or invalid
    """

    CHECK_INTERVAL_S = 1.0
    #: what the file holds, for log lines ("access rules")
    what = "file"
    #: what stays in force when a new version is refused ("rules")
    held = "content"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._checked = 0.0
        self._signature: tuple[int, int] | None = None
        self._digest = ""
        self._value = self._load(*self._read())

    def parse(self, data: bytes) -> T:
        """The file's content. :raises InvalidRequestError: it is invalid (with line and path)"""
        raise NotImplementedError

    def unreadable(self, reason: str) -> InvalidRequestError:
        """The error of a file that cannot be read on first load."""
        return InvalidRequestError(f"{self.path}: cannot read the {self.what} file: {reason}", path=self.path)

    def _read(self) -> tuple[tuple[int, int], bytes]:
        try:
            stat = os.stat(self.path)
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise self.unreadable(str(e.strerror)) from None
        return (stat.st_mtime_ns, stat.st_size), data

    def _load(self, signature: tuple[int, int], data: bytes) -> T:
        value = self.parse(data)
        self._signature, self._digest = signature, hashlib.sha256(data).hexdigest()
        self._checked = time.monotonic()
        return value

    def current(self) -> T:
        """The content in force; looks at the file at most once per :attr:`CHECK_INTERVAL_S`."""
        now = time.monotonic()
        if now - self._checked < self.CHECK_INTERVAL_S or not self._lock.acquire(blocking=False):
            return self._value
        try:
            self._checked = now
            try:
                stat = os.stat(self.path)
            except OSError as e:
                logger.error("%s %s: %s; keeping the %s loaded before", self.what, self.path, e.strerror, self.held)
                return self._value
            signature = (stat.st_mtime_ns, stat.st_size)
            if signature == self._signature:
                return self._value
            try:
                read, data = self._read()
                if hashlib.sha256(data).hexdigest() == self._digest:
                    self._signature = read
                    return self._value
                self._value = self._load(read, data)
                logger.info("%s %s reloaded", self.what, self.path)
            except InvalidRequestError as e:
                self._signature = signature  # report a broken version once
                logger.error("%s %s not reloaded, keeping the %s loaded before: %s", self.what, self.path,
                             self.held, e)
            return self._value
        finally:
            self._lock.release()
