"""Differential privacy on an output port: a masked element is replaced by a DP statistic over the data behind it.

Noise on one raw reading destroys it, so the ``dp`` transform never perturbs a value; it publishes an aggregate
(count, sum, mean or histogram) computed by :mod:`.privacy_mechanism` over

- ``series``: one variable of the records of a Time Series (IDTA 02008) element -- the masked ``Segments``, one
  segment or its ``Records`` -- in an optional time window; the privacy unit is one record (one reading), or
  ``contributions`` records;
- ``fleet``: one numeric element (e.g. an operating-hours or start counter) in every submodel with a given
  semanticId, found through the store; the privacy unit is one submodel (one asset), which contributes its
  first matching element. This is what a counter release means: a DP statistic of one counter's single value
  is either noise or a leak, the same counter over a fleet is a statistic. (A counter that is a Time Series
  variable is released with ``series``.)

A release is computed once per (partner, spec, source, data version) -- the data version is a hash of the input
values -- stored as a record and served unchanged afterwards, so repeated queries cannot average the noise away.
Each new release is charged to the partner's epsilon budget (a lifetime budget per port; ``budget_per_partner``).
An exhausted budget withholds the element: the computed element without its value and status
``budget-exhausted``; raw data is never the fallback.

Concurrency and crashes (several API processes on one store, each step one atomic ``update_record``):

1. *claim*: the release record of the key is created as ``pending`` with a fresh release id, this process as
   owner and a lease, unless a record exists. A ``done`` record is served as it is; a ``pending`` one of
   another owner is waited for; one whose lease ran out (its owner crashed) is taken over *with its release id*.
2. *charge*: the budget record of the partner adds epsilon unless the remaining budget is too small (then
   nothing is written, the claim is dropped and the element withheld). The budget record lists the release ids
   it charged, and charging a listed id changes nothing: a release id is charged at most once, however many
   processes take the claim over after crashes.
3. *finalize*: the computed element is stored as ``done`` only if the record is still this process's
   ``pending`` claim. A record is ``done`` once and never rewritten, and only ``done`` records are served, so
   one key never yields two different releases; a loser of this step discards its noise, which was never shown.

Every served release was charged before it was computed; a crash between charge and finalize costs the partner
that epsilon without a release (the safe direction) until a takeover finalizes the same release id.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NoReturn

from submodels import time_series as ts

from ..errors import InvalidRequestError, NotFoundError
from ..model import tree
from ..model.index import reference_value
from ..model.paths import format_path, parse_path
from ..observability import metrics
from ..security.caller import Caller
from ..store.base import JSON, Query, Store, iterate
from . import privacy_mechanism
from .masking_transforms import marked

STATISTICS = ("count", "sum", "mean", "histogram")
SOURCES = ("series", "fleet")
#: collections of the engine's records (internal: no port serves records)
RELEASES = "dp-releases"
BUDGETS = "dp-budgets"
#: semanticId of a computed DP element; the masked element's own semanticId moves to supplementalSemanticIds
DP_RELEASE_SEMANTIC_ID = "https://aas-server.example/ids/dp-release/1/0"
#: status of a withheld release
BUDGET_EXHAUSTED = "budget-exhausted"
RELEASE_PENDING = "release-pending"
#: smallest epsilon of one release: bounds the number of releases, and so the budget record's list of charges
MIN_EPSILON = 0.01
MAX_BINS = 1000
#: seconds a claim is held before another process may take it over (a release takes milliseconds)
LEASE_S = 30.0
#: seconds between looks at another process's pending claim
POLL_S = 0.02
#: slack of float sums of epsilons (10 x 0.1 must fit a budget of 1)
_BUDGET_SLACK = 1e-9


@dataclasses.dataclass(frozen=True)
class SourceSpec:
    kind: str
    #: series: the record variable (idShort)
    variable: str | None = None
    #: series: ISO 8601 start (inclusive) and end (exclusive) of the window
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    #: series: a window of this many seconds ending at the newest record (data-relative, so releases are stable)
    last_s: float | None = None
    #: fleet: the submodels by semanticId
    submodel_semantic_id: str | None = None
    #: fleet: the element in each by semanticId (default: the masked element's semanticId) or by idShortPath
    element_semantic_id: str | None = None
    path: str | None = None


@dataclasses.dataclass(frozen=True)
class AggregateSpec:
    """One DP statistic as a masking profile declares it (``dp:`` of a rule)."""

    statistic: str
    epsilon: float
    source: SourceSpec
    #: clamping bounds (lower, upper); required for sum, mean and histogram
    bounds: tuple[float, float] | None = None
    #: histogram: equal bins over ``bounds``
    bins: int | None = None
    #: records one privacy unit may contribute (series); the sensitivity scales with it
    contributions: int = 1

    def canonical(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, default=str, separators=(",", ":"))


class PrivacyEngine:
    """Releases DP statistics in place of masked elements, charging each partner's budget in ``store``.

    ``store`` is the inner (unmasked) store: the statistics need the raw data, and the engine's records are
    never served through a port.
    """

    def __init__(self, store: Store, budget_per_partner: float) -> None:
        self.store = store
        self.budget = float(budget_per_partner)
        #: identifies this engine as the owner of its claims (one per process and port)
        self._owner = uuid.uuid4().hex

    def release(self, caller: Caller | None, submodel_id: str, path: str, element: JSON,
                spec: AggregateSpec) -> JSON:
        """The computed element that replaces ``element`` (at ``path`` of ``submodel_id``) for ``caller``."""
        released, outcome = self._release(caller, submodel_id, path, element, spec)
        metrics.PRIVACY_RELEASES.labels(caller.port if caller is not None else "system", outcome).inc()
        return released

    def _release(self, caller: Caller | None, submodel_id: str, path: str, element: JSON,
                 spec: AggregateSpec) -> tuple[JSON, str]:
        """The element and what happened: ``new`` (computed and charged now), ``served`` (released before),
        ``withheld`` (budget exhausted) or ``pending`` (another process is computing it)."""
        partner = caller.partner if caller is not None else "system"
        values, source_label = self._inputs(submodel_id, path, element, spec)
        key = _release_key(partner, spec, source_label, values)
        try:
            done = self.store.get_record(RELEASES, key)
            if done.get("state") == "done":
                return _in_place_of(element, done["element"]), "served"
        except NotFoundError:
            pass
        if self._remaining(partner) < spec.epsilon - _BUDGET_SLACK:
            return _withheld(element, spec, BUDGET_EXHAUSTED), "withheld"
        deadline = time.monotonic() + 2 * LEASE_S
        while time.monotonic() < deadline:
            record = self.store.update_record(RELEASES, key, self._claim)
            assert record is not None  # noqa: S101 - _claim never deletes
            if record["state"] == "done":
                return _in_place_of(element, record["element"]), "served"
            if record["owner"] != self._owner:
                time.sleep(POLL_S)
                continue
            release_id = record["releaseId"]
            try:
                self.store.update_record(BUDGETS, partner, self._charge(partner, release_id, spec.epsilon))
            except _BudgetExhaustedError:
                self.store.update_record(RELEASES, key, self._drop_claim)
                return _withheld(element, spec, BUDGET_EXHAUSTED), "withheld"
            answer = privacy_mechanism.release(
                spec.statistic, spec.epsilon, spec.bounds, spec.bins, spec.contributions, values)
            computed = _released(element, spec, release_id, answer)
            final = self.store.update_record(RELEASES, key, self._finalize(computed, partner, spec))
            if final is not None and final["state"] == "done":
                return _in_place_of(element, final["element"]), "new"
        return _withheld(element, spec, RELEASE_PENDING), "pending"

    def spent(self, partner: str) -> float:
        """Epsilon charged to ``partner`` so far."""
        try:
            return float(self.store.get_record(BUDGETS, partner)["spent"])
        except NotFoundError:
            return 0.0

    def _remaining(self, partner: str) -> float:
        return self.budget - self.spent(partner)

    # -- the three atomic steps (pure functions of the current record, re-applied on a lost race) -------------

    def _claim(self, current: JSON | None) -> JSON:
        now = time.time()
        if current is None:
            return {"state": "pending", "releaseId": "dp-" + uuid.uuid4().hex, "owner": self._owner,
                    "leaseUntil": now + LEASE_S}
        if current["state"] == "pending" and current["owner"] != self._owner and current["leaseUntil"] < now:
            return {**current, "owner": self._owner, "leaseUntil": now + LEASE_S}
        return current

    def _drop_claim(self, current: JSON | None) -> JSON | None:
        if current is not None and current["state"] == "pending" and current["owner"] == self._owner:
            return None
        return current

    def _charge(self, partner: str, release_id: str, epsilon: float) -> Callable[[JSON | None], JSON]:
        def charge(current: JSON | None) -> JSON:
            budget = current or {"partner": partner, "spent": 0.0, "charged": {}}
            if release_id in budget["charged"]:
                return budget
            if budget["spent"] + epsilon > self.budget + _BUDGET_SLACK:
                raise _BudgetExhaustedError
            return {**budget, "spent": budget["spent"] + epsilon, "charged": {**budget["charged"], release_id: epsilon}}

        return charge

    def _finalize(self, computed: JSON, partner: str, spec: AggregateSpec) -> Callable[[JSON | None], JSON | None]:
        def finalize(current: JSON | None) -> JSON | None:
            if current is None or current["state"] != "pending" or current["owner"] != self._owner:
                return current
            return {"state": "done", "releaseId": current["releaseId"], "partner": partner,
                    "epsilon": spec.epsilon, "created": datetime.datetime.now(datetime.UTC).isoformat(),
                    "element": computed}

        return finalize

    # -- input data -------------------------------------------------------------------------------------------

    def _inputs(self, submodel_id: str, path: str, element: JSON, spec: AggregateSpec) -> tuple[list[float], str]:
        """The values the statistic runs over, and a label of where they come from (part of the release key)."""
        source = spec.source
        if source.kind == "series":
            assert source.variable is not None  # noqa: S101 - parse_spec requires it
            return series_values(element, source), f"series {submodel_id} {path} {source.variable}"
        assert source.submodel_semantic_id is not None  # noqa: S101 - parse_spec requires it
        element_semantic_id = source.element_semantic_id or (
            None if source.path else reference_value(element.get("semanticId")))
        if element_semantic_id is None and source.path is None:
            source = dataclasses.replace(source, path=path)
        submodels = iterate(lambda page: self.store.find("submodel", Query(semantic_id=source.submodel_semantic_id),
                                                         page))
        values = fleet_values(submodels, element_semantic_id, source.path)
        return values, f"fleet {source.submodel_semantic_id} {element_semantic_id or source.path}"


class _BudgetExhaustedError(Exception):
    """The partner's remaining budget is smaller than the epsilon of the release (aborts the charge)."""


def series_values(element: JSON, source: SourceSpec) -> list[float]:
    """The variable's finite values of the records under ``element``, in time order, within the window."""
    rows: list[tuple[datetime.datetime, float]] = []
    for record in _records(element):
        moment = number = None
        for field in record.get("value") or ():
            if field.get("idShort") == "Time":
                moment = _time(field.get("value"))
            elif field.get("idShort") == source.variable:
                number = _number(field.get("value"))
        if moment is not None and number is not None:
            rows.append((moment, number))
    rows.sort(key=lambda row: row[0])
    if source.last_s is not None and rows:
        cutoff = rows[-1][0] - datetime.timedelta(seconds=source.last_s)
        return [v for t, v in rows if t > cutoff]
    start, end = source.start, source.end
    return [v for t, v in rows if (start is None or t >= start) and (end is None or t < end)]


def _records(element: JSON) -> Iterator[JSON]:
    """The Time Series records at or below ``element`` (collections with the Record semanticId), without looking
    into the records themselves: a series has thousands."""
    pending = [element]
    while pending:
        node = pending.pop()
        if node.get("modelType") not in ("SubmodelElementCollection", "SubmodelElementList"):
            continue
        if reference_value(node.get("semanticId")) == ts.RECORD:
            yield node
        else:
            pending.extend(reversed(node.get("value") or ()))


def fleet_values(submodels: Iterable[JSON], element_semantic_id: str | None, path: str | None) -> list[float]:
    """One value per submodel (one asset): its first element with the semanticId, or the one at ``path``."""
    values = []
    for submodel in submodels:
        number = _fleet_value(submodel, element_semantic_id, path)
        if number is not None:
            values.append(number)
    return values


def _fleet_value(submodel: JSON, element_semantic_id: str | None, path: str | None) -> float | None:
    segments = parse_path(path) if path is not None else None
    for top in submodel.get("submodelElements") or ():
        if segments is not None:
            if top.get("idShort") != segments[0]:
                continue
            try:
                return _number(tree.find(top, segments).get("value"))
            except NotFoundError:
                return None
        for _, node in tree.walk(top, (str(top.get("idShort", "")),)):
            if reference_value(node.get("semanticId")) == element_semantic_id and node.get("modelType") == "Property":
                return _number(node.get("value"))
    return None


def _number(lexical: Any) -> float | None:
    """A finite float of a numeric lexical value; anything else is absent data (not a record of the statistic)."""
    if lexical is None or isinstance(lexical, bool):
        return None
    try:
        number = float(lexical)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _time(lexical: Any) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(str(lexical).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def _release_key(partner: str, spec: AggregateSpec, source_label: str, values: Sequence[float]) -> str:
    """The release record's key: a digest of who, what statistic, of what, and the data version (a hash of the
    input values). Internal only: the release id a partner sees is random, never this digest, which a partner
    could test guesses of low-entropy data against."""
    digest = hashlib.sha256()
    for part in (partner, spec.canonical(), source_label, json.dumps(list(values))):
        digest.update(part.encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


# -- the computed elements ------------------------------------------------------------------------------------


def _property(id_short: str, value_type: str, value: Any) -> JSON:
    out: JSON = {"idShort": id_short, "modelType": "Property", "valueType": value_type}
    if value is not None:
        out["value"] = value if isinstance(value, str) else _lexical(value)
    return out


def _lexical(number: float | int) -> str:
    return str(number) if isinstance(number, int) else repr(float(number))


def _number_list(id_short: str, value_type: str, numbers: Sequence[float | int]) -> JSON:
    out: JSON = {"idShort": id_short, "modelType": "SubmodelElementList", "typeValueListElement": "Property",
                 "valueTypeListElement": value_type, "orderRelevant": True}
    if numbers:
        out["value"] = [{"modelType": "Property", "valueType": value_type, "value": _lexical(n)} for n in numbers]
    return out


def _frame(element: JSON, spec: AggregateSpec, children: list[JSON]) -> JSON:
    """The computed collection that takes the masked element's place (same idShort, none for a list item; its
    semanticId kept as a supplemental one so a partner can tell what the statistic is about)."""
    out: JSON = {"modelType": "SubmodelElementCollection", "semanticId": {
        "type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": DP_RELEASE_SEMANTIC_ID}]}}
    if "idShort" in element:
        out = {"idShort": element["idShort"], **out}
    if element.get("semanticId"):
        out["supplementalSemanticIds"] = [element["semanticId"]]
    head = [_property("Statistic", "xs:string", spec.statistic), _property("Epsilon", "xs:double", spec.epsilon)]
    if spec.bounds is not None:
        head += [_property("LowerBound", "xs:double", spec.bounds[0]),
                 _property("UpperBound", "xs:double", spec.bounds[1])]
    out["value"] = head + children
    return out


def _released(element: JSON, spec: AggregateSpec, release_id: str, answer: float | int | list[int]) -> JSON:
    if isinstance(answer, list):
        assert spec.bounds is not None and spec.bins is not None  # noqa: S101 - a histogram has both
        edges = [spec.bounds[0], *privacy_mechanism.inner_edges(spec.bounds, spec.bins), spec.bounds[1]]
        values = [_number_list("BinEdges", "xs:double", edges), _number_list("Counts", "xs:long", answer)]
    else:
        values = [_property("Value", "xs:long" if spec.statistic == "count" else "xs:double", answer)]
    children = [*values, _property("Source", "xs:string", spec.source.kind),
                _property("ReleaseId", "xs:string", release_id)]
    return marked(_frame(element, spec, children), f"dp:{release_id}")


def _in_place_of(element: JSON, released: JSON) -> JSON:
    """A stored release as the stand-in of ``element``: one fleet release serves elements of several submodels,
    which may differ in idShort (or be list items without one); the statistic itself is never changed."""
    out = {key: value for key, value in released.items() if key != "idShort"}
    if "idShort" in element:
        out = {"idShort": element["idShort"], **out}
    return out


def _withheld(element: JSON, spec: AggregateSpec, status: str) -> JSON:
    value_type = "xs:long" if spec.statistic in ("count", "histogram") else "xs:double"
    children = [_property("Value", value_type, None), _property("Status", "xs:string", status)]
    return marked(_frame(element, spec, children), "withheld")


# -- parsing a spec -----------------------------------------------------------------------------------------


def parse_spec(mapping: Mapping[str, Any], where: str = "dp") -> AggregateSpec:
    """The spec of a masking rule's ``dp:`` mapping.

    :raises InvalidRequestError: naming the faulty key (``where`` locates the mapping, e.g. a YAML line)
    """
    check = _Checker(where)
    check.keys(mapping, "", {"statistic", "epsilon", "bounds", "bins", "contributions", "source"})
    statistic = check.choice(mapping, "statistic", STATISTICS)
    epsilon = check.number(mapping, "epsilon")
    if not MIN_EPSILON <= epsilon <= 100:
        check.fail("epsilon", f"must be between {MIN_EPSILON} and 100")
    bounds = None
    if statistic == "count":
        check.absent(mapping, "bounds", "a count needs no bounds")
    else:
        raw = check.required(mapping, "bounds")
        if (not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != 2
                or not all(_finite(b) for b in raw) or not float(raw[0]) < float(raw[1])):
            check.fail("bounds", "must be [lower, upper], two finite numbers with lower < upper")
        bounds = (float(raw[0]), float(raw[1]))
    bins = None
    if statistic == "histogram":
        bins = check.integer(mapping, "bins", 2, MAX_BINS)
    else:
        check.absent(mapping, "bins", "only a histogram has bins")
    contributions = check.integer(mapping, "contributions", 1, 100000) if "contributions" in mapping else 1
    raw_source = check.required(mapping, "source")
    if not isinstance(raw_source, Mapping):
        check.fail("source", "must be a mapping with kind: series or fleet")
    source = _parse_source(raw_source, check)
    return AggregateSpec(statistic, epsilon, source, bounds, bins, contributions)


def _parse_source(mapping: Mapping[str, Any], check: _Checker) -> SourceSpec:
    kind = check.choice(mapping, "source.kind", SOURCES, key="kind")
    if kind == "series":
        check.keys(mapping, "source.", {"kind", "variable", "window"})
        variable = check.text(mapping, "source.variable", key="variable")
        window = mapping.get("window")
        if window is None:
            return SourceSpec(kind, variable)
        if not isinstance(window, Mapping):
            check.fail("source.window", "must be {last_s: seconds} or {start, end} (ISO 8601 date-times)")
        check.keys(window, "source.window.", {"last_s", "start", "end"})
        if "last_s" in window:
            if "start" in window or "end" in window:
                check.fail("source.window", "last_s excludes start and end")
            last_s = check.number(window, "source.window.last_s", key="last_s")
            if last_s <= 0:
                check.fail("source.window.last_s", "must be positive")
            return SourceSpec(kind, variable, last_s=last_s)
        start = check.moment(window, "source.window.start", "start")
        end = check.moment(window, "source.window.end", "end")
        if start is not None and end is not None and not start < end:
            check.fail("source.window", "start must be before end")
        return SourceSpec(kind, variable, start=start, end=end)
    check.keys(mapping, "source.", {"kind", "submodel_semantic_id", "element_semantic_id", "path"})
    submodel_semantic_id = check.text(mapping, "source.submodel_semantic_id", key="submodel_semantic_id")
    element_semantic_id = path = None
    if "element_semantic_id" in mapping:
        element_semantic_id = check.text(mapping, "source.element_semantic_id", key="element_semantic_id")
    if "path" in mapping:
        path = check.text(mapping, "source.path", key="path")
        try:
            path = format_path(parse_path(path))
        except InvalidRequestError as e:
            check.fail("source.path", e.text)
        if element_semantic_id is not None:
            check.fail("source.path", "give element_semantic_id or path, not both")
    return SourceSpec(kind, submodel_semantic_id=submodel_semantic_id, element_semantic_id=element_semantic_id,
                      path=path)


class _Checker:
    """Reads typed values out of a spec mapping; every error names the key path (``dp.bounds``) and ``where``."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key_path: str, message: str) -> NoReturn:
        raise InvalidRequestError(f"dp.{key_path} {message}", path=f"{self.where}: dp.{key_path}")

    def keys(self, mapping: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
        for key in mapping:
            if key not in allowed:
                self.fail(f"{prefix}{key}", f"is not a known key (expected one of {', '.join(sorted(allowed))})")

    def required(self, mapping: Mapping[str, Any], key_path: str, key: str | None = None) -> Any:
        key = key or key_path
        if mapping.get(key) is None:
            self.fail(key_path, "is required")
        return mapping[key]

    def absent(self, mapping: Mapping[str, Any], key: str, why: str) -> None:
        if key in mapping:
            self.fail(key, f"is not allowed here: {why}")

    def choice(self, mapping: Mapping[str, Any], key_path: str, options: tuple[str, ...],
               key: str | None = None) -> str:
        value = self.required(mapping, key_path, key)
        if value not in options:
            self.fail(key_path, f"must be one of {', '.join(options)}, not {value!r}")
        return str(value)

    def number(self, mapping: Mapping[str, Any], key_path: str, key: str | None = None) -> float:
        value = self.required(mapping, key_path, key)
        if not _finite(value):
            self.fail(key_path, f"must be a finite number, not {value!r}")
        return float(value)

    def integer(self, mapping: Mapping[str, Any], key_path: str, low: int, high: int) -> int:
        value = self.required(mapping, key_path)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key_path, f"must be an integer from {low} to {high}, not {value!r}")
        return int(value)

    def text(self, mapping: Mapping[str, Any], key_path: str, key: str) -> str:
        value = self.required(mapping, key_path, key)
        if not isinstance(value, str) or not value:
            self.fail(key_path, f"must be a non-empty string, not {value!r}")
        return str(value)

    def moment(self, mapping: Mapping[str, Any], key_path: str, key: str) -> datetime.datetime | None:
        value = mapping.get(key)
        if value is None:
            return None
        moment = value if isinstance(value, datetime.datetime) else _time(value)
        if moment is None:
            self.fail(key_path, f"must be an ISO 8601 date-time, not {value!r}")
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
