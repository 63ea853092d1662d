"""The gateway's write path: data changes collected between flushes, written as one store write per top-level
element per flush, with quality qualifiers (:mod:`.quality`), lineage and the per-source health record.

Collecting (:meth:`BatchWriter.add`, :meth:`BatchWriter.mark_stale`, :meth:`BatchWriter.source_state`) happens
on the gateway's event loop; :meth:`BatchWriter.take` hands the collected batch to :meth:`BatchWriter.write`,
which runs on the one thread that owns the store. Within a batch only the latest event of each element counts:
a value changing faster than the flush interval is stored at the flush rate, with the source timestamp of the
value stored.

Health records (collection ``gateway-health``, key ``<mapping>/<source>``)::

    {"mapping", "source", "endpoint", "state": connecting|connected|disconnected|stopped, "connected": bool,
     "since", "lastError", "lastValueTime" (newest source timestamp stored), "lastWriteTime", "staleElements":
     ["<submodel id>#<idShortPath>", ...], "badElements": [...], "valuesReceived", "valuesWritten", "badValues",
     "reconnects", "run"}
"""
from __future__ import annotations

import dataclasses
import datetime
import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from asyncua import ua

from aas_server.errors import ConflictError, NotFoundError
from aas_server.model import tree
from aas_server.model.paths import parse_path
from aas_server.store.base import JSON, Store

from .. import lineage
from ..ingest_merge import merge_element, merge_shell
from ..mapping_plan import ShellPlan
from . import quality
from .mapping import NodeBinding, OpcUaMapping, SubmodelTarget

logger = logging.getLogger(__name__)

HEALTH = "gateway-health"
AGENT = "aas-server gateway"
#: seconds between lineage refreshes of one submodel (its entries carry the latest timestamps; every value's own
#: timestamps are on its qualifiers)
LINEAGE_INTERVAL_S = 10.0
#: seconds between health record writes when only counters changed
HEALTH_INTERVAL_S = 1.0


@dataclasses.dataclass(frozen=True)
class Sample:
    """One value of a node as the PLC reported it."""

    binding: NodeBinding
    value: Any
    status: int
    source_time: datetime.datetime | None
    server_time: datetime.datetime | None


@dataclasses.dataclass(frozen=True)
class Stale:
    """The PLC was lost; ``last`` is a value received before and not written yet."""

    binding: NodeBinding
    last: Sample | None


Event = Sample | Stale


@dataclasses.dataclass
class Health:
    mapping: str
    source: str
    endpoint: str
    run: str
    state: str = "connecting"
    since: str = ""
    last_error: str | None = None
    last_value_time: str | None = None
    last_write_time: str | None = None
    stale: set[str] = dataclasses.field(default_factory=set)
    bad: set[str] = dataclasses.field(default_factory=set)
    received: int = 0
    written: int = 0
    bad_values: int = 0
    connections: int = 0

    def record(self) -> JSON:
        return {"mapping": self.mapping, "source": self.source, "endpoint": self.endpoint, "run": self.run,
                "state": self.state, "connected": self.state == "connected", "since": self.since,
                "lastError": self.last_error, "lastValueTime": self.last_value_time,
                "lastWriteTime": self.last_write_time, "staleElements": sorted(self.stale),
                "badElements": sorted(self.bad), "valuesReceived": self.received, "valuesWritten": self.written,
                "badValues": self.bad_values, "reconnects": max(0, self.connections - 1)}


def _key(binding: NodeBinding) -> str:
    return f"{binding.submodel_id}#{binding.id_short_path}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class BatchWriter:
    """Collects events on the loop, writes them on the store's thread (see the module docstring)."""

    def __init__(self, store: Store, mapping: OpcUaMapping, run_id: str) -> None:
        self.store = store
        self.mapping = mapping
        self.run_id = run_id
        self._pending: dict[str, Event] = {}
        self._targets = {t.id: t for s in mapping.sources for t in s.submodels}
        self._health = {s.name: Health(mapping.name, s.name, s.endpoint, run_id, since=quality.timestamp(_now()))
                        for s in mapping.sources}
        self._health_dirty: set[str] = set(self._health)
        self._health_written: dict[str, float] = {}
        self._lineage_written: dict[str, float] = {}
        self._lineage_paths: dict[str, set[str]] = {}
        self._store_failing = False
        #: sources this gateway does not hold (another gateway's lease): their events are dropped
        self._muted: set[str] = set()

    # -- on the event loop ----------------------------------------------------------------------------------

    def add(self, sample: Sample) -> None:
        if sample.binding.source in self._muted:
            return
        self._pending[_key(sample.binding)] = sample
        self._health[sample.binding.source].received += 1

    def mute(self, source: str) -> None:
        """Drop what was collected for ``source`` and ignore its events: another gateway holds it now."""
        self._muted.add(source)
        self._pending = {key: event for key, event in self._pending.items() if event.binding.source != source}

    def unmute(self, source: str) -> None:
        self._muted.discard(source)

    def mark_stale(self, bindings: Sequence[NodeBinding]) -> None:
        for binding in bindings:
            if binding.source in self._muted:
                continue
            key = _key(binding)
            previous = self._pending.get(key)
            self._pending[key] = Stale(binding, previous if isinstance(previous, Sample) else None)

    def source_state(self, source: str, state: str, error: str | None = None) -> None:
        """A source's connection state changed (``connecting``, ``connected``, ``disconnected``, ``stopped``)."""
        health = self._health[source]
        if state == "connected" and health.state != "connected":
            health.connections += 1
        if state != health.state:
            health.since = quality.timestamp(_now())
        health.state = state
        if error is not None or state == "connected":
            health.last_error = error
        self._health_dirty.add(source)

    def take(self) -> list[Event]:
        """The events collected since the last call (at most one per element)."""
        events, self._pending = list(self._pending.values()), {}
        return events

    def requeue(self, events: Sequence[Event]) -> None:
        """Events whose write failed, back into the next batch unless a newer event of the element came."""
        for event in events:
            self._pending.setdefault(_key(event.binding), event)

    # -- on the store's thread ------------------------------------------------------------------------------

    def write(self, events: Sequence[Event]) -> list[Event]:
        """One store write per top-level element touched, then lineage and health; returns the events whose
        write failed (the store is unavailable), for :meth:`requeue`. Never raises for a bad value."""
        failed: list[Event] = []
        groups: dict[tuple[str, str | int], list[_Resolved]] = {}
        for event in events:
            item = _resolve(event)
            groups.setdefault((event.binding.submodel_id, item.tokens[0]), []).append(item)
        lineage_due: dict[str, list[Sample]] = {}
        for (sm_id, top), group in groups.items():
            repeated = self._update(sm_id, str(top), group)
            if repeated is None:
                failed.extend(item.event for item in group)
                continue
            for item in group:
                self._account(item)
                if isinstance(item.event, Sample) and item.value is not None and item.tokens not in repeated:
                    lineage_due.setdefault(sm_id, []).append(item.event)
        try:
            for sm_id, samples in lineage_due.items():
                self._lineage(sm_id, samples)
            self.write_health()
        except Exception:  # lineage is refreshed with the next values, health records stay due until written
            logger.warning("gateway: lineage or health record not written", exc_info=not self._store_failing)
        return failed

    def write_health(self, force: bool = False) -> None:
        now = time.monotonic()
        for name, health in self._health.items():
            if health.state == "standby":  # held by another gateway, whose record stands
                continue
            due = now - self._health_written.get(name, 0.0) >= HEALTH_INTERVAL_S
            if force or name in self._health_dirty or (due and health.received):
                self.store.put_record(HEALTH, f"{self.mapping.name}/{name}", health.record())
                self._health_written[name] = now
                self._health_dirty.discard(name)

    def _update(self, sm_id: str, top: str, group: Sequence[_Resolved]) -> set[tuple[str | int, ...]] | None:
        """Write one top-level element; ``None`` when the store failed (logged once per outage), else the items
        that were stored already (a value and its source timestamp another gateway, or this one before a
        reconnect, wrote: its lineage stays as it is)."""
        items = {item.tokens: item for item in group}
        prefixes = {item.tokens[:depth] for item in group for depth in range(1, len(item.tokens))}
        repeated: set[tuple[str | int, ...]] = set()

        def change(element: JSON) -> JSON:
            found: set[tuple[str | int, ...]] = set()
            repeated.clear()  # re-applied after a lost compare-and-set
            element = _applied(element, (element["idShort"],), items, prefixes, found, repeated)
            for tokens, item in items.items():
                if tokens not in found:  # a nested element the stored one lacks: grown from the template
                    element = self._grown(sm_id, element, item, group)
            return element

        try:
            try:
                self.store.update_element(sm_id, top, change)
            except NotFoundError:
                self._create(sm_id, top, group, change)
        except Exception:  # a store fault must not end the gateway: the batch is retried with the next flush
            if not self._store_failing:
                logger.exception("gateway: writing %s %s failed; retrying with every flush", sm_id, top)
            self._store_failing = True
            return None
        if self._store_failing:
            logger.warning("gateway: store writes succeed again")
            self._store_failing = False
        return repeated

    def _built(self, sm_id: str, group: Sequence[_Resolved]) -> JSON:
        target = self._targets[sm_id]
        values = {item.event.binding.id_short_path: item.value for item in group if item.value is not None}
        return target.template.build(sm_id, values, id_short=target.id_short)

    def _grown(self, sm_id: str, element: JSON, item: _Resolved, group: Sequence[_Resolved]) -> JSON:
        built = self._built(sm_id, group)
        parts = [e for e in built.get("submodelElements") or [] if e.get("idShort") == element.get("idShort")]
        if not parts:
            return element
        grown = merge_element(element, parts[0])
        try:
            return tree.replace(grown, item.tokens, item.apply(tree.find(grown, item.tokens)))
        except NotFoundError:
            return grown

    def _create(self, sm_id: str, top: str, group: Sequence[_Resolved], change: Callable[[JSON], JSON]) -> None:
        """Create the missing submodel (and its shell) or top-level element from the template, with the batch's
        values and qualifiers in it (readers never see one without the other). Without a value to create it with
        (only Bad or stale events) nothing is written; if a concurrent writer created it first, ``change`` is
        applied to what it created."""
        built = self._built(sm_id, group)
        element = next((e for e in built.get("submodelElements") or [] if e.get("idShort") == top), None)
        if element is None:
            return
        element = change(element)
        try:
            try:
                self.store.get("submodel", sm_id)
            except NotFoundError:
                self.store.create("submodel", {**built, "submodelElements": [element]})
                self._link_shell(self._targets[sm_id])
                return
            self.store.add_element(sm_id, element)
        except ConflictError:
            self.store.update_element(sm_id, top, change)

    def _link_shell(self, target: SubmodelTarget) -> None:
        if target.shell_id is None or target.global_asset_id is None:
            return
        plan = ShellPlan(target.shell_id, target.global_asset_id, target.shell_id_short, "Instance", None, ())
        try:
            stored: JSON | None = self.store.get("shell", target.shell_id)
        except NotFoundError:
            stored = None
        shell = merge_shell(stored, plan, [target.id])
        if stored is None:
            self.store.create("shell", shell)
        else:
            self.store.replace("shell", shell)

    def _account(self, item: _Resolved) -> None:
        event = item.event
        health = self._health[event.binding.source]
        key = _key(event.binding)
        if item.stale:
            health.stale.add(key)
            self._health_dirty.add(event.binding.source)
            return
        health.stale.discard(key)
        if item.value is None:
            health.bad_values += 1
            if key not in health.bad:
                health.bad.add(key)
                self._health_dirty.add(event.binding.source)
        else:
            health.bad.discard(key)
            health.written += 1
        if item.sample is not None and item.sample.source_time is not None:
            stamp = quality.timestamp(item.sample.source_time)
            if health.last_value_time is None or stamp > health.last_value_time:
                health.last_value_time = stamp
        health.last_write_time = quality.timestamp(_now())

    def _lineage(self, sm_id: str, samples: Sequence[Sample]) -> None:
        """Refresh the submodel's lineage record: at a path's first value of this run, else every
        :data:`LINEAGE_INTERVAL_S` (each value's own timestamps are on its qualifiers)."""
        now = time.monotonic()
        known = self._lineage_paths.setdefault(sm_id, set())
        if now - self._lineage_written.get(sm_id, 0.0) < LINEAGE_INTERVAL_S \
                and all(s.binding.id_short_path in known for s in samples):
            return
        doc = lineage.load(self.store, sm_id) or {}
        target = self._targets[sm_id]
        entries = dict(doc.get("entries") or {})
        source = self.mapping.source(samples[0].binding.source)
        written = lineage.timestamp(_now())
        for sample in samples:
            binding = sample.binding
            derived: JSON = {"endpoint": source.endpoint, "nodeId": binding.address}
            if sample.source_time is not None:
                derived["generatedAtTime"] = quality.timestamp(sample.source_time)
            if sample.server_time is not None:
                derived["serverTimestamp"] = quality.timestamp(sample.server_time)
            entries[binding.id_short_path] = {
                "entity": f"{sm_id}#{binding.id_short_path}",
                "live": True,
                "wasGeneratedBy": f"urn:uuid:{self.run_id}",
                "generatedAtTime": written,
                "wasAttributedTo": {"agent": AGENT, "type": "prov:SoftwareAgent"},
                "hadPlan": {"mapping": self.mapping.name, "file": self.mapping.file,
                            "checksum": self.mapping.checksum, "rule": f"{source.name}.nodes.{binding.id_short_path}",
                            "line": binding.line},
                "wasDerivedFrom": derived,
            }
            known.add(binding.id_short_path)
        lineage.save(self.store, {**doc, "submodel": sm_id, "shell": doc.get("shell", target.shell_id),
                                  "idShort": target.id_short or target.template.id_short,
                                  "template": target.template.name, "entries": entries})
        self._lineage_written[sm_id] = now


@dataclasses.dataclass(frozen=True)
class _Resolved:
    """An event converted once: the value to store (``None`` keeps the stored one), its quality and status."""

    event: Event
    tokens: tuple[str | int, ...]
    sample: Sample | None
    value: str | None
    grade: str
    status: str
    stale: bool

    def apply(self, element: JSON) -> JSON:
        if self.sample is not None:
            element = quality.stamped(element, value=self.value, quality=self.grade, status=self.status,
                                      source_time=self.sample.source_time, server_time=self.sample.server_time)
        return quality.marked_stale(element) if self.stale else element


def _applied(element: JSON, path: tuple[str | int, ...], items: dict[tuple[str | int, ...], _Resolved],
             prefixes: set[tuple[str | int, ...]], found: set[tuple[str | int, ...]],
             repeated: set[tuple[str | int, ...]]) -> JSON:
    """``element`` (at ``path``) with every item below it applied, in one walk (a batch may change hundreds of
    Properties of one collection); subtrees without items are kept as they are. Items that change nothing (the
    value with its source timestamp is stored already) are added to ``repeated``."""
    item = items.get(path)
    if item is not None:
        found.add(path)
        applied = item.apply(element)
        if applied == element:
            repeated.add(path)
        return applied
    if path not in prefixes and len(path) > 1:
        return element
    key = tree.CHILDREN_KEY.get(element.get("modelType", ""))
    if key is None or not element.get(key):
        return element
    is_list = element["modelType"] == "SubmodelElementList"
    return {**element, key: [_applied(child, (*path, i if is_list else child.get("idShort", "")), items, prefixes,
                                      found, repeated) for i, child in enumerate(element[key])]}


@functools.lru_cache(maxsize=65536)
def _tokens(path: str) -> tuple[str | int, ...]:
    return tuple(parse_path(path))


def _resolve(event: Event) -> _Resolved:
    sample = event if isinstance(event, Sample) else event.last
    tokens = _tokens(event.binding.id_short_path)
    stale = isinstance(event, Stale)
    if sample is None:
        return _Resolved(event, tokens, None, None, quality.STALE, "", stale)
    grade = quality.grade(sample.status)
    status = quality.status_name(sample.status)
    value = None
    if grade != quality.BAD:
        try:
            value = sample.binding.convert(sample.value)
        except ValueError as e:
            logger.warning("gateway: %s from %s does not fit %s: %s", sample.value, sample.binding.address,
                           _key(sample.binding), e)
            grade, status = quality.BAD, "BadTypeMismatch"
    return _Resolved(event, tokens, sample, value, grade, status, stale)


def status_code(value: Any) -> int:
    """The numeric status of an asyncua StatusCode (or an int)."""
    return int(value.value) if isinstance(value, ua.StatusCode) else int(value)
