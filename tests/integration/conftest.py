"""Fixtures of the HTTP tests: a session and the v3.1 API root of the module's live gunicorn server."""
from __future__ import annotations

from typing import Iterator

import pytest
import requests


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def api(live_server: str) -> str:
    return f"{live_server}/api/v3.1"
