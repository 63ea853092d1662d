"""flat_page: pages of entries derived from paged items (the $path lists)."""
from __future__ import annotations

import pytest

from aas_server.errors import InvalidRequestError
from aas_server.services.paging import flat_page
from aas_server.store.base import Page, PageRequest

pytestmark = pytest.mark.unit

#: items keyed by name, each expanding to its entries; "empty" has none
ITEMS = {"a": ["a1", "a2", "a3"], "b": [], "c": ["c1"], "d": ["d1", "d2"]}


def fetch(page: PageRequest) -> Page[str]:
    keys = sorted(k for k in ITEMS if page.after is None or k > page.after)
    chosen = keys[: page.limit]
    return Page(chosen, chosen[-1] if len(keys) > page.limit else None)


def all_pages(limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = flat_page(fetch, ITEMS.__getitem__, PageRequest(limit, cursor))
        pages.append(page.items)
        if page.next_after is None:
            return pages
        cursor = page.next_after


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 10])
def test_pages_cover_every_entry_once_and_limit_counts_entries(limit: int) -> None:
    pages = all_pages(limit)
    assert [entry for page in pages for entry in page] == ["a1", "a2", "a3", "c1", "d1", "d2"]
    assert all(len(page) <= limit for page in pages)
    assert all(len(page) == limit for page in pages[:-1])


def test_last_page_has_no_cursor() -> None:
    assert flat_page(fetch, ITEMS.__getitem__, PageRequest(10)).next_after is None


@pytest.mark.parametrize("cursor", ["not json", '["a", -1]', '[1, 0]', '{"a": 1}'])
def test_foreign_cursor_is_rejected(cursor: str) -> None:
    with pytest.raises(InvalidRequestError):
        flat_page(fetch, ITEMS.__getitem__, PageRequest(2, cursor))
