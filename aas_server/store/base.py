"""The Store seam: what the services need from persistence, and nothing of any database.

Stores hold JSON that the services validated already. A submodel is kept as its header plus one record per
top-level element, so that a write to one element touches that element only, and two clients writing different
elements of one submodel at the same time both win.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Generic, Iterator, Protocol, TypeVar

T = TypeVar("T")
JSON = dict[str, Any]

KINDS = ("shell", "submodel", "concept_description")
#: kinds of the registry and discovery services (``aas_server.registry``), stored like identifiables
REGISTRY_KINDS = ("shell_descriptor", "submodel_descriptor", "asset_links")


@dataclasses.dataclass(frozen=True)
class Query:
    """Filters of list routes; all given ones must match. Terms are (field, value) pairs of ``model.index``."""

    id_short: str | None = None
    semantic_id: str | None = None
    terms: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class PageRequest:
    limit: int
    #: sort key of the last item of the previous page (a keyset cursor), ``None`` for the first page
    after: str | None = None


@dataclasses.dataclass
class Page(Generic[T]):
    items: list[T]
    #: sort key to continue after, ``None`` when this was the last page
    next_after: str | None


@dataclasses.dataclass(frozen=True)
class Attachment:
    content_type: str
    filename: str
    data: bytes


class Store(Protocol):
    """Identifiables are addressed by ``kind`` (one of :data:`KINDS`) and id.

    Submodels are passed whole (with ``submodelElements``) to :meth:`create` and :meth:`replace` and come back
    whole from :meth:`get` and :meth:`find`; their elements can also be read and written one by one.
    """

    def get(self, kind: str, identifier: str) -> JSON:
        """:raises NotFoundError:"""

    def find(self, kind: str, query: Query, page: PageRequest) -> Page[JSON]:
        """Matching identifiables ordered by id, one page."""

    def create(self, kind: str, obj: JSON) -> None:
        """:raises ConflictError: the id exists"""

    def replace(self, kind: str, obj: JSON) -> None:
        """Replace the whole object, atomically for readers. :raises NotFoundError:"""

    def delete(self, kind: str, identifier: str) -> None:
        """Delete it, with a submodel's elements. :raises NotFoundError:"""

    def update_header(self, submodel_id: str, change: Callable[[JSON], JSON]) -> JSON:
        """Apply ``change`` to a submodel's header (without elements) atomically; returns the new header.

        :raises NotFoundError:
        """

    def find_elements(self, submodel_id: str, page: PageRequest) -> Page[JSON]:
        """Top-level elements in their order. :raises NotFoundError: no such submodel"""

    def get_element(self, submodel_id: str, id_short: str) -> JSON:
        """:raises NotFoundError: no such submodel or element"""

    def add_element(self, submodel_id: str, element: JSON) -> None:
        """Append a top-level element. :raises NotFoundError: :raises ConflictError: idShort taken"""

    def update_element(self, submodel_id: str, id_short: str, change: Callable[[JSON], JSON]) -> JSON:
        """Apply ``change`` to one top-level element atomically (re-applied if a concurrent write won).

        ``change`` may raise; then nothing is written. Returns the stored result.
        :raises NotFoundError:
        """

    def delete_element(self, submodel_id: str, id_short: str) -> None:
        """:raises NotFoundError:"""

    def put_attachment(self, key: str, attachment: Attachment) -> None: ...

    def get_attachment(self, key: str) -> Attachment:
        """:raises NotFoundError:"""

    def delete_attachments(self, prefix: str) -> None:
        """Delete every attachment whose key starts with ``prefix`` (none is fine)."""

    def put_record(self, collection: str, key: str, doc: JSON) -> None:
        """Small keyed documents of the services (operation results, package metadata)."""

    def put_records(self, collection: str, items: list[tuple[str, JSON]]) -> None:
        """Several :meth:`put_record` in one write (audit batches); all are stored or, on an error, none is
        acknowledged (a retry may store some twice, which replaces them by themselves)."""

    def get_record(self, collection: str, key: str) -> JSON:
        """:raises NotFoundError:"""

    def delete_record(self, collection: str, key: str) -> None:
        """:raises NotFoundError:"""

    def find_records(self, collection: str, page: PageRequest) -> Page[JSON]:
        """Records ordered by key."""

    def update_record(self, collection: str, key: str, change: Callable[[JSON | None], JSON | None]) -> JSON | None:
        """Atomic read-modify-write of one record, shared by all processes on the store (budgets, counters).

        ``change`` gets the current record (``None``: absent) and returns the new one (``None``: delete it, or
        leave it absent). It is re-applied to the newer record when a concurrent writer won, so it must be pure.
        ``change`` may raise; then nothing is written. Returns what ``change`` returned for the write that won.
        :raises ConflictError: concurrent writers kept winning
        """

    def record_collections(self) -> list[str]:
        """Names of the collections holding records, sorted (backups)."""

    def find_record_items(self, collection: str, page: PageRequest) -> Page[tuple[str, JSON]]:
        """``(key, record)`` pairs ordered by key (backups)."""

    def attachment_keys(self) -> list[str]:
        """The key of every attachment, sorted (backups; one entry per attached file, so a list is fine)."""

    def ping(self) -> None:
        """:raises StoreUnavailableError:"""

    def close(self) -> None: ...


def iterate(fetch: Callable[[PageRequest], Page[T]], limit: int = 500) -> Iterator[T]:
    """All items of a paged store method, fetched page by page."""
    after: str | None = None
    while True:
        page = fetch(PageRequest(limit, after))
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after
