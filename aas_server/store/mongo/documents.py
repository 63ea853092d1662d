"""The collections of :class:`~aas_server.store.mongo.MongoStore`, as mongoengine documents.

The classes define field names and indexes (in ``meta``) and nothing else: the store never builds document
objects, it reads and writes raw pymongo documents whose ``json`` field holds the canonical JSON as a string.
They never leave this package.

mongoengine caches one collection per document class, for the alias in its ``meta``; a process may hold several
stores on different databases (tests do), so :func:`bind` gets each collection from the store's own connection
and creates the indexes mongoengine parsed from ``meta`` on it, as ``Document.ensure_indexes`` would.
"""

from __future__ import annotations

from typing import Any

from mongoengine import Document, IntField, ListField, ObjectIdField, StringField
from pymongo.collection import Collection
from pymongo.database import Database

#: separates field and value in the ``terms`` strings (a control character, never part of an id)
TERM_SEPARATOR = "\x1f"

MongoDoc = dict[str, Any]


class IdentifiableDocument(Document):  # type: ignore[misc]
    """An identifiable (a submodel without its elements): ``_id`` is its id, so id order is ``_id`` order."""

    meta = {
        "abstract": True,
        "indexes": [
            {"fields": ("id_short", "id"), "name": "id_short"},
            {"fields": ("semantic_id", "id"), "name": "semantic_id"},
            # multikey: one entry per term, e.g. asset ids
            {"fields": ("terms", "id"), "name": "terms"},
        ],
    }

    id = StringField(primary_key=True)
    #: the canonical JSON
    json = StringField(required=True)
    id_short = StringField()
    semantic_id = StringField()
    #: ``model.index`` terms as ``field + TERM_SEPARATOR + value``
    terms = ListField(StringField())
    #: incremented by every write; the compare-and-set token of ``update_header``
    version = IntField(required=True)


class ShellDocument(IdentifiableDocument):
    meta = {"collection": "shells"}


class ConceptDescriptionDocument(IdentifiableDocument):
    meta = {"collection": "concept_descriptions"}


class ShellDescriptorDocument(IdentifiableDocument):
    """An AAS Registry entry (``aas_server.registry``): derived from a shell here, or registered."""

    meta = {"collection": "shell_descriptors"}


class SubmodelDescriptorDocument(IdentifiableDocument):
    meta = {"collection": "submodel_descriptors"}


class AssetLinksDocument(IdentifiableDocument):
    """The discovery service's asset links of one shell id."""

    meta = {"collection": "asset_links"}


class SubmodelDocument(IdentifiableDocument):
    """A submodel header; its elements are the ``ElementDocument`` of its current ``generation``."""

    meta = {"collection": "submodels"}

    generation = ObjectIdField(required=True)


class ElementDocument(Document):  # type: ignore[misc]
    """One top-level submodel element of one generation of a submodel."""

    meta = {
        "collection": "submodel_elements",
        "indexes": [
            {"fields": ("submodel_id", "generation", "id_short"), "unique": True, "name": "submodel_id_short"},
            {"fields": ("submodel_id", "generation", "pos"), "unique": True, "name": "submodel_pos"},
        ],
    }

    submodel_id = StringField(required=True)
    generation = ObjectIdField(required=True)
    #: order of the elements; gaps after deletes are fine
    pos = IntField(required=True)
    id_short = StringField(required=True)
    json = StringField(required=True)
    #: compare-and-set token of ``update_element``
    version = IntField(required=True)


class RecordDocument(Document):  # type: ignore[misc]
    """A small keyed document of the services; ``_id`` is ``[collection, key]`` as compact JSON."""

    meta = {
        "collection": "records",
        "indexes": [{"fields": ("collection", "key"), "unique": True, "name": "collection_key"}],
    }

    id = StringField(primary_key=True)
    collection = StringField(required=True)
    key = StringField(required=True)
    json = StringField(required=True)
    #: incremented by every write; the compare-and-set token of ``update_record``
    version = IntField()


IDENTIFIABLE_DOCUMENTS: dict[str, type[IdentifiableDocument]] = {
    "shell": ShellDocument,
    "submodel": SubmodelDocument,
    "concept_description": ConceptDescriptionDocument,
    "shell_descriptor": ShellDescriptorDocument,
    "submodel_descriptor": SubmodelDescriptorDocument,
    "asset_links": AssetLinksDocument,
}


def bind(document: type[Document], db: Database[MongoDoc]) -> Collection[MongoDoc]:
    """The collection of ``document`` in ``db``, with the indexes of its ``meta`` created (idempotent)."""
    collection = db.get_collection(document._get_collection_name())
    for spec in document._meta["index_specs"]:
        options = dict(spec)
        keys = options.pop("fields")
        collection.create_index(keys, **options)
    return collection
