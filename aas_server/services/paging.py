"""Paging over entries derived from paged store items, such as the idShortPaths (``$path``) of submodels."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from ..errors import InvalidRequestError
from ..store.base import Page, PageRequest

T = TypeVar("T")
U = TypeVar("U")


def flat_page(fetch: Callable[[PageRequest], Page[T]], expand: Callable[[T], list[U]], page: PageRequest) -> Page[U]:
    """One page of up to ``page.limit`` entries of ``expand(item)``, for the items that ``fetch`` pages through.

    ``limit`` counts entries, not items. The cursor (``next_after``) is the store key to restart from and the
    number of entries after it to skip.

    :raises InvalidRequestError: a cursor that was not made here
    """
    after, skip = _parse_cursor(page.after)
    taken: list[U] = []
    while True:
        batch = fetch(PageRequest(page.limit, after))
        entries = [entry for item in batch.items for entry in expand(item)]
        wanted = page.limit - len(taken)
        taken += entries[skip : skip + wanted]
        if skip + wanted < len(entries):
            return Page(taken, _cursor(after, skip + wanted))
        if batch.next_after is None:
            return Page(taken, None)
        after, skip = batch.next_after, max(0, skip - len(entries))
        if len(taken) == page.limit:
            return Page(taken, _cursor(after, skip))


def _cursor(after: str | None, skip: int) -> str:
    return json.dumps([after, skip])


def _parse_cursor(cursor: str | None) -> tuple[str | None, int]:
    if cursor is None:
        return None, 0
    try:
        after, skip = json.loads(cursor)
    except (ValueError, TypeError):
        raise InvalidRequestError("invalid cursor", path="cursor") from None
    if not (after is None or isinstance(after, str)) or not isinstance(skip, int) or skip < 0:
        raise InvalidRequestError("invalid cursor", path="cursor")
    return after, skip
