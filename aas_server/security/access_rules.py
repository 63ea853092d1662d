"""IDTA-01004 (AAS Part 4 Security) access rules: who may do what with which object, decided per port.

Spec followed: IDTA-01004 v3.1 access rule model, JSON serialization (``AllAccessPermissionRules``) as in
admin-shell-io/aas-specs-security (``aas-queries-and-access-rules-schema.json``, BNF ``access-rules.bnf``), with the
formula language shared with the IDTA-01002 v3.1 query language. Implemented: ATTRIBUTES (CLAIM, GLOBAL LOCALNOW /
UTCNOW / CLIENTNOW / ANONYMOUS), RIGHTS CREATE READ UPDATE DELETE EXECUTE VIEW ALL, ACCESS ALLOW and DISABLED,
OBJECTS ROUTE / IDENTIFIABLE / REFERABLE / FRAGMENT / DESCRIPTOR, FORMULA with ``$and $or $not $match $boolean
$boolCast``, comparisons ``$eq $ne $gt $ge $lt $le`` on strings, numbers, hex, booleans, dateTimes and times,
``$contains $starts-with $ends-with $regex``, operands ``$field $strVal $numVal $hexVal $boolean $dateTimeVal
$timeVal $attribute`` (``$boolVal`` accepted as an alias of ``$boolean``), casts ``$strCast $numCast $hexCast
$boolCast $dateTimeCast $timeCast``, ``$dayOfWeek $dayOfMonth $month $year``; FILTER and FILTERLIST (FRAGMENT +
CONDITION or USEFORMULA); DEFATTRIBUTES, DEFACLS, DEFOBJECTS, DEFFORMULAS with USEATTRIBUTES, USEACL, USEOBJECTS,
USEFORMULA. Default deny; rules only allow.

Decisions where the spec leaves room (the same as Eclipse BaSyx where it has one):

- An ACL applies to a caller who has every CLAIM (and CLAIMPATH, a JSON pointer into the token claims as in the
  v3.2 draft) it lists; GLOBAL ANONYMOUS makes it apply to every caller,
  authenticated or not (what anonymous may do, a signed-in caller may do too). CLAIMs of a :class:`Caller`: its
  token claims, plus ``BPN``/``bpn``, ``role``/``roles``, ``sub``, ``port``, ``contract_agreement``.
- READ implies VIEW. VIEW alone shows that an object exists (id, idShort, modelType) without values.
- ROUTE literals are matched against the API path without port prefix and ``/api/v3.x`` (``/submodels/abc``): ``*``
  is every route, a trailing ``*`` any suffix, a ``*`` elsewhere one path segment. ROUTE objects grant objects only
  through the request that reached them (``Target.route``, else the Flask request path).
- A submodel is readable as a *container* when a rule may grant only some of its elements (REFERABLE, FRAGMENT
  ``$sme.x``, or a formula on ``$sme`` fields); its elements are then filtered one by one
  (:meth:`RuleSet.filter_submodel`). Granting an element grants its subtree; a FILTER narrows it again.
- ``$regex`` patterns longer than 256 characters or with nested quantifiers (``(a+)+``) are refused at load time;
  matching runs with the ``regex`` package under a 20 ms timeout (a timeout counts as no match).
- A field that addresses no object at hand has no values, so comparisons on it are false. A FILTER whose FRAGMENT
  names an ancestor of the element served needs that ancestor (``ancestors=`` or a whole submodel); without it the
  element is hidden, never guessed.
- DESCRIPTOR objects grant descriptors, IDENTIFIABLE objects identifiables; a shell's formula may read it as its
  descriptor (``$aasdesc#specificAssetIds[]``), a submodel as ``$smdesc``.

Not implemented (refused at load with a clear message): REFERENCE attributes to *other* identifiables
(``$sme("id").path#value``) — rules would need store reads per decision; REFERENCE to the object at hand
(``$sm#id``) works. ``ResourceBoundAccessRuleModels`` (v3.2 draft). A TREE right (not in the spec). Not
implemented without a message: FRAGMENT objects on identifiable fields (``$aas#assetInformation.specificAssetIds``)
grant nothing on their own (field-level restrictions are FILTERs); the text (BNF) serialization. The official JSON
Schema is not bundled: this loader enforces its structure and reports the line instead.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import re
import threading
import time
import weakref
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from ..errors import InvalidRequestError
from ..model.paths import parse_path
from ..store.base import Query
from .access_rules_formula import (
    Env,
    FieldRef,
    FormulaError,
    claim_path_key,
    operands_of,
    path_is_ancestor,
    path_matches,
)
from .access_rules_json import JsonPositionError, format_json_path, load_with_lines
from .access_rules_model import (
    RIGHTS,
    Filter,
    ModelError,
    ObjectRef,
    Rule,
    build_rules,
    normalize_route,
)
from .access_rules_pushdown import PUSH_ROOTS, to_dnf, to_query
from .caller import Caller
from .watched_file import WatchedFile

JSON = dict[str, Any]
KIND_ROOT = {"shell": "aas", "submodel": "sm", "concept_description": "cd", "shell_descriptor": "aasdesc",
             "submodel_descriptor": "smdesc"}
#: what a VIEW-only element keeps: that it exists, not what it holds
VIEW_KEYS = ("idShort", "modelType")
_CHILD_KEYS = {"SubmodelElementCollection": "value", "SubmodelElementList": "value", "Entity": "statements",
               "AnnotatedRelationshipElement": "annotations"}
READ, VIEW = "READ", "VIEW"
#: callers (distinct attribute sets) whose grants are kept
GRANTS_CACHED = 1024
#: idShortPaths repeat across requests (the same submodels are served again and again)
_parse_path = functools.lru_cache(maxsize=8192)(parse_path)


class RuleFileError(InvalidRequestError):
    """A rule file that is not a valid IDTA-01004 access rule model; ``path`` says where (JSON path and line)."""


@dataclasses.dataclass(frozen=True)
class Target:
    """What a decision is about. ``obj``: the identifiable's JSON (a submodel without elements is fine)."""

    kind: str  # route | shell | submodel | concept_description | shell_descriptor | submodel_descriptor
    identifier: str | None = None
    obj: JSON | None = None
    id_short_path: str | None = None
    element: JSON | None = None
    route: str | None = None


def _request_route() -> str | None:
    try:
        from flask import has_request_context, request
    except ImportError:  # pragma: no cover - flask is a dependency
        return None
    return request.path if has_request_context() else None


def _route(route: str | None) -> str | None:
    route = route if route is not None else _request_route()
    return None if route is None else normalize_route(route)


def _claim_path(claims: Any, pointer: str) -> list[Any]:
    """The values at a JSON pointer (RFC 6901) into the token claims; a list there gives several values."""
    value = claims
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return []
    return list(value) if isinstance(value, list) else [value]


def caller_claims(caller: Caller, claim_paths: Iterable[str] = ()) -> dict[Any, list[Any]]:
    """CLAIM name (or CLAIMPATH key) -> values; a list claim (roles) has several values."""
    claims: dict[Any, list[Any]] = {}
    for pointer in claim_paths:
        claims[claim_path_key(pointer)] = _claim_path(caller.claims, pointer)
    for name, value in caller.claims.items():
        claims[name] = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
    derived = {"BPN": caller.bpn, "bpn": caller.bpn, "sub": caller.subject, "port": caller.port,
               "contract_agreement": caller.contract_agreement}
    for name, value in derived.items():
        if value is not None and name not in claims:
            claims[name] = [value]
    if caller.roles:
        for name in ("role", "roles"):
            claims[name] = sorted(set(claims.get(name, [])) | set(caller.roles))
    if "CLIENTNOW" not in claims:
        for name in ("clientnow", "client_now"):
            if name in claims:
                claims["CLIENTNOW"] = claims[name]
    return {k: v for k, v in claims.items() if v}


def _anonymous(caller: Caller) -> bool:
    return caller.subject is None and caller.bpn is None and not caller.claims


def shell_as_descriptor(shell: JSON) -> JSON:
    """The fields ``$aasdesc#...`` reads, taken from a shell (the server serves shells as their descriptors)."""
    info = shell.get("assetInformation") or {}
    descriptor: JSON = {k: shell[k] for k in ("id", "idShort") if k in shell}
    for key in ("assetKind", "assetType", "globalAssetId", "specificAssetIds"):
        if key in info:
            descriptor[key] = info[key]
    return descriptor


#: CLAIM names a caller has without a token claim of that name (see :func:`caller_claims`)
_DERIVED_CLAIMS = ("BPN", "bpn", "sub", "port", "contract_agreement", "role", "roles", "CLIENTNOW", "clientnow",
                   "client_now")
_ABSENT = ("absent",)
_SCALARS = (str, int, float, bool, type(None))


def _frozen(value: Any) -> Hashable:
    """A hashable form of a claim value that equals another only for the same JSON (types kept: ``1`` is not
    ``True``, a list is not a tuple). :raises TypeError: a value that is not JSON-like"""
    if isinstance(value, dict):
        return "dict", tuple(sorted(((repr(k), _frozen(v)) for k, v in value.items()), key=lambda kv: kv[0]))
    if isinstance(value, (list, tuple)):
        return type(value).__name__, tuple(_frozen(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return "set", frozenset(_frozen(v) for v in value)
    if isinstance(value, _SCALARS):
        return type(value).__name__, value
    raise TypeError(f"claim value of type {type(value).__name__}")


def _claim_names(rules: Iterable[Rule]) -> tuple[str, ...]:
    """Every CLAIM name the rules read (ACLs, formulas, filters), and the names derived from the caller."""
    names = set(_DERIVED_CLAIMS)
    for rule in rules:
        names.update(value for kind, value in rule.acl.attributes if kind == "CLAIM")
        for node in (rule.formula, *(flt.condition for flt in rule.filters)):
            names.update(o.value[1] for o in operands_of(node)
                         if o.kind == "attribute" and o.value[0] == "CLAIM")
    return tuple(sorted(names))


class _Grants:
    """The rules that apply to one caller, by right: they depend on the caller's attributes only (never on the
    clock), so callers with the same attributes share them. Only the claims the rules read are kept: callers that
    share grants agree on exactly those, and a claim a rule reads that was missed would be absent (deny), never
    another caller's."""

    __slots__ = ("anonymous", "by_right", "claims", "view_only")

    def __init__(self, rules: list[Rule], caller: Caller, claim_paths: Iterable[str], read: frozenset[Any]) -> None:
        self.claims = {k: v for k, v in caller_claims(caller, claim_paths).items() if k in read}
        self.anonymous = _anonymous(caller)
        applicable = [r for r in rules if r.acl.enabled and self._acl_applies(r, self.claims)]
        self.by_right = {right: [r for r in applicable if right in r.acl.rights] for right in RIGHTS}
        #: VIEW is granted by READ too; VIEW-only rules separately for the "view" answer
        self.by_right[VIEW] = [r for r in applicable if VIEW in r.acl.rights or READ in r.acl.rights]
        self.view_only = [r for r in applicable if VIEW in r.acl.rights and READ not in r.acl.rights]

    @staticmethod
    def _acl_applies(rule: Rule, claims: dict[Any, list[Any]]) -> bool:
        subject = False
        for kind, value in rule.acl.attributes:
            if kind in ("CLAIM", "CLAIMPATH"):
                if (value if kind == "CLAIM" else claim_path_key(value)) not in claims:
                    return False
                subject = True
            elif kind == "GLOBAL" and value == "ANONYMOUS":
                subject = True
        return subject


class _Plan:
    """One request's decisions: the caller's grants with the clock read once (UTCNOW, LOCALNOW and the values
    cached in :attr:`env` hold for this request only)."""

    def __init__(self, grants: _Grants) -> None:
        self.env = Env(grants.claims, grants.anonymous, dt.datetime.now(dt.UTC))
        self.by_right = grants.by_right
        self.view_only = grants.view_only
        self.submodels: dict[int, tuple[JSON, dict[int, bool | None]]] = {}

    def submodel_value(self, rule: Rule, submodel: JSON) -> bool | None:
        """The rule's formula on the submodel alone (``$sme`` fields unknown), cached per submodel object."""
        entry = self.submodels.get(id(submodel))
        if entry is None or entry[0] is not submodel:
            if len(self.submodels) > 64:
                self.submodels.clear()
            entry = (submodel, {})
            self.submodels[id(submodel)] = entry
        values = entry[1]
        if rule.number not in values:
            env = self.env.derive({"sm": submodel, "smdesc": submodel}, unknown=frozenset({"sme"}))
            values[rule.number] = rule.evaluate(env)
        return values[rule.number]


def _covers(obj: ObjectRef, root: str, identifier: str | None, route: str | None) -> str | None:
    """How an object entry covers an identifiable: "whole", "part" (some elements of a submodel) or None."""
    if obj.kind == "ROUTE":
        return "whole" if route is not None and obj.route is not None and obj.route.fullmatch(route) else None
    if obj.kind in ("IDENTIFIABLE", "DESCRIPTOR"):
        if obj.root == root and (obj.identifier is None or obj.identifier == identifier):
            return "whole"
        return None
    if root == "sm" and obj.kind == "REFERABLE" and (obj.identifier is None or obj.identifier == identifier):
        return "part"
    if root == "sm" and obj.kind == "FRAGMENT" and obj.root == "sme" and obj.path:
        return "part"
    return None


@dataclasses.dataclass(frozen=True)
class _Scope:
    """One submodel as one caller sees it (through one route): what every element decision reads."""

    plan: _Plan
    submodel: JSON
    route: str | None


@dataclasses.dataclass(frozen=True)
class _Reach:
    """Where one rule's OBJECTS reach into submodels, indexed once for the per-element checks."""

    all_ids: bool
    ids: frozenset[str]
    routes: tuple[re.Pattern[str], ...]
    #: REFERABLE and FRAGMENT ``$sme.<path>`` objects by the first idShort of their path
    parts: dict[str, tuple[ObjectRef, ...]]
    sme_filters: bool

    @classmethod
    def of(cls, rule: Rule) -> _Reach:
        identifiables = [o for o in rule.objects if o.kind == "IDENTIFIABLE" and o.root == "sm"]
        parts: dict[str, list[ObjectRef]] = {}
        for obj in rule.objects:
            if obj.path and _covers(obj, "sm", obj.identifier, None) == "part":
                parts.setdefault(obj.path[0], []).append(obj)
        return cls(any(o.identifier is None for o in identifiables),
                   frozenset(o.identifier for o in identifiables if o.identifier is not None),
                   tuple(o.route for o in rule.objects if o.route is not None),
                   {first: tuple(objs) for first, objs in parts.items()},
                   any(f.fragment.root == "sme" for f in rule.filters))

    def whole(self, identifier: str | None, route: str | None) -> bool:
        """The rule's objects cover the whole submodel ``identifier`` (reached through ``route``)."""
        if self.all_ids or identifier in self.ids:
            return True
        return route is not None and any(pattern.fullmatch(route) for pattern in self.routes)

    def part(self, identifier: str | None, path: tuple[Any, ...]) -> bool:
        """A REFERABLE / FRAGMENT object addresses the element at ``path`` or one of its ancestors."""
        return any((o.identifier is None or o.identifier == identifier) and path_matches(o.path, path)
                   for o in self.parts.get(path[0], ()) if o.path is not None) if path else False

    def container(self, identifier: str | None, path: tuple[Any, ...]) -> bool:
        """The element at ``path`` holds an element a REFERABLE / FRAGMENT object addresses."""
        return any((o.identifier is None or o.identifier == identifier) and path_is_ancestor(path, o.path)
                   for o in self.parts.get(path[0], ()) if o.path is not None) if path else False


class RuleSet:
    """Loaded rules; every decision is default deny. Thread-safe, immutable apart from small caches."""

    def __init__(self, rules: list[Rule], source: str = "<rules>") -> None:
        self.rules = rules
        self.source = source
        self._reach = {rule.number: _Reach.of(rule) for rule in rules}
        self._claim_paths = sorted({path for rule in rules for path in rule.claim_paths})
        self._claim_names = _claim_names(rules)
        self._read_claims = frozenset(self._claim_names) | {claim_path_key(p) for p in self._claim_paths}
        #: the plan of each live Caller (one per request), dropped with it: a plan holds the submodels it decided on
        self._plans: dict[int, tuple[weakref.ref[Caller], _Plan, float]] = {}
        #: every request authenticates a new Caller: grants are shared by callers with equal attributes
        self._grants: collections.OrderedDict[Hashable, _Grants] = collections.OrderedDict()
        self._grants_lock = threading.Lock()

    @classmethod
    def from_text(cls, text: str, source: str = "<rules>") -> RuleSet:
        """:raises RuleFileError: with JSON path and line"""
        try:
            doc, lines = load_with_lines(text)
        except RecursionError:
            raise RuleFileError(f"{source}: nested too deeply", path=source) from None
        except JsonPositionError as e:
            raise RuleFileError(f"{source}: line {e.line}: {e.message}",
                                path=f"{format_json_path(e.path)} (line {e.line})") from None
        try:
            rules = build_rules(doc)
        except RecursionError:
            raise RuleFileError(f"{source}: a formula is nested too deeply", path=source) from None
        except (ModelError, FormulaError) as e:
            where = e.where
            line = next((lines[where[:n]] for n in range(len(where), -1, -1) if where[:n] in lines), 1)
            location = format_json_path(where)
            raise RuleFileError(f"{source}: line {line}: {location}: {e.message}",
                                path=f"{location} (line {line})") from None
        return cls(rules, source)

    # --- per caller --------------------------------------------------------------------------------------------

    def _plan(self, caller: Caller) -> _Plan:
        key = id(caller)
        now = time.monotonic()
        cached = self._plans.get(key)
        if cached is not None and cached[0]() is caller and now - cached[2] < 1.0:
            return cached[1]
        plan = _Plan(self._grants_of(caller))
        if len(self._plans) > 256:  # callers kept alive elsewhere
            self._plans.clear()
        self._plans[key] = (weakref.ref(caller, functools.partial(self._forget, key)), plan, now)
        return plan

    def _forget(self, key: int, dead: weakref.ref[Caller]) -> None:
        """A caller is gone (before its id can be reused): its plan goes too."""
        entry = self._plans.get(key)
        if entry is not None and entry[0]() is None:
            self._plans.pop(key, None)

    def _caller_key(self, caller: Caller) -> Hashable | None:
        """What the grants of ``caller`` depend on; ``None`` for claims that have no safe key (not cached)."""
        claims = caller.claims
        try:
            return (caller.port, caller.internal, caller.subject, caller.bpn, caller.contract_agreement,
                    caller.roles, bool(claims),
                    tuple(_frozen(claims[name]) if name in claims else _ABSENT for name in self._claim_names),
                    tuple(_frozen(_claim_path(claims, pointer)) for pointer in self._claim_paths))
        except TypeError:
            return None

    def _grants_of(self, caller: Caller) -> _Grants:
        key = self._caller_key(caller)
        if key is None:
            return _Grants(self.rules, caller, self._claim_paths, self._read_claims)
        with self._grants_lock:
            grants = self._grants.get(key)
            if grants is not None:
                self._grants.move_to_end(key)
                return grants
        grants = _Grants(self.rules, caller, self._claim_paths, self._read_claims)
        with self._grants_lock:
            self._grants[key] = grants
            if len(self._grants) > GRANTS_CACHED:
                self._grants.popitem(last=False)
        return grants

    # --- identifiables and routes ------------------------------------------------------------------------------

    def allows(self, caller: Caller | None, right: str, target: Target) -> bool:
        """May ``caller`` exercise ``right`` (CREATE READ UPDATE DELETE EXECUTE VIEW) on ``target``?"""
        if caller is None:
            return True
        plan = self._plan(caller)
        rules = plan.by_right.get(right, [])
        route = _route(target.route)
        if target.kind == "route":
            return self._route_allows(plan, rules, route)
        root = KIND_ROOT[target.kind]
        identifier = target.identifier or (target.obj or {}).get("id")
        if target.id_short_path is not None and root == "sm":
            return self._element_allows(caller, right, target, route)
        objs = self._objects(root, target.obj)
        env = plan.env.derive(objs, unknown=frozenset({"sme"}) if root == "sm" else frozenset())
        for rule in rules:
            coverage = {_covers(o, root, identifier, route) for o in rule.objects} - {None}
            if not coverage:
                continue
            value = plan.submodel_value(rule, target.obj) if root == "sm" and target.obj is not None else (
                rule.evaluate(env))
            if value is False:
                continue
            if value is True and "whole" in coverage:
                return True
            if root == "sm" and right in (READ, VIEW):
                return True  # a container: some elements may be granted
        return False

    @staticmethod
    def _objects(root: str, obj: JSON | None) -> dict[str, Any]:
        if obj is None:
            return {}
        if root == "aas":
            return {"aas": obj, "aasdesc": shell_as_descriptor(obj)}
        if root == "sm":
            return {"sm": obj, "smdesc": obj}
        return {root: obj}

    def _route_allows(self, plan: _Plan, rules: list[Rule], route: str | None) -> bool:
        """A request may proceed when a rule grants the route, or may grant objects reached through it."""
        env = plan.env.derive({}, unknown=frozenset(KIND_ROOT.values()) | {"sme"})
        for rule in rules:
            routes = [o for o in rule.objects if o.kind == "ROUTE"]
            matches = any(route is not None and o.route is not None and o.route.fullmatch(route) for o in routes)
            if (matches or len(routes) < len(rule.objects)) and rule.evaluate(env) is not False:
                return True
        return False

    # --- submodel elements -------------------------------------------------------------------------------------

    def _granting(self, scope: _Scope, rules: Iterable[Rule], path: tuple[Any, ...], element: JSON,
                  chain: tuple[JSON, ...], inherited: frozenset[int] = frozenset()) -> set[int]:
        """Numbers of the rules that grant the element at ``path``; ``chain``: the elements above it (top-level
        first, empty when unknown); ``inherited``: rules that granted an ancestor (the subtree is theirs)."""
        plan, submodel = scope.plan, scope.submodel
        identifier = submodel.get("id")
        env: Env | None = None
        out: set[int] = set()
        for rule in rules:
            if rule.number not in inherited:
                reach = self._reach[rule.number]
                if not (reach.whole(identifier, scope.route) or reach.part(identifier, path)):
                    continue
                value = plan.submodel_value(rule, submodel)
                if value is False:
                    continue
                if value is None:
                    env = env or plan.env.derive({"sm": submodel, "smdesc": submodel, "sme": element}, sme_path=path)
                    if rule.evaluate(env) is not True:
                        continue
            if self._filters_allow(scope, rule, path, element, chain, inherited=rule.number in inherited):
                out.add(rule.number)
        return out

    @staticmethod
    def _filters_allow(scope: _Scope, rule: Rule, path: tuple[Any, ...], element: JSON, chain: tuple[JSON, ...],
                       inherited: bool) -> bool:
        """FILTERs with an ``$sme`` FRAGMENT that addresses this element (or, unless inherited, an ancestor) hold."""
        for flt in rule.filters:
            pattern = flt.fragment.sme_steps if flt.fragment.root == "sme" else ()
            if not pattern or not path_matches(pattern, path) or (inherited and len(pattern) < len(path)):
                continue  # not about this element, or about an ancestor already checked on the way down
            at = path[:len(pattern)]
            target = element if len(pattern) == len(path) else _ancestor(scope.submodel, chain, path, len(pattern))
            if target is None:
                return False  # the FILTER names an element that is not at hand: hidden rather than guessed
            env = scope.plan.env.derive({"sm": scope.submodel, "smdesc": scope.submodel, "sme": target}, sme_path=at)
            if flt.evaluate(env) is not True:
                return False
        return True

    def _is_container(self, scope: _Scope, rules: Iterable[Rule], path: tuple[Any, ...]) -> bool:
        """A REFERABLE / FRAGMENT object of a rule addresses an element below ``path``."""
        identifier = scope.submodel.get("id")
        return any(self._reach[rule.number].container(identifier, path)
                   and scope.plan.submodel_value(rule, scope.submodel) is not False for rule in rules)

    def _scope(self, caller: Caller, submodel: JSON, route: str | None) -> _Scope:
        return _Scope(self._plan(caller), submodel, _route(route))

    def element_access(self, caller: Caller | None, submodel: JSON, id_short_path: str, element: JSON,
                       route: str | None = None, ancestors: Sequence[JSON] = ()) -> str:
        """``"read"``, ``"view"`` (exists, value withheld; also a container of granted children) or ``"none"``.

        Per element, without its children: :meth:`filter_element` and :meth:`filter_submodel` decide subtrees.
        ``ancestors``: the elements above it, top-level first (for FILTERs that name an ancestor).
        """
        if caller is None:
            return "read"
        scope = self._scope(caller, submodel, route)
        path = _parse_path(id_short_path)
        chain = tuple(ancestors)
        rules = scope.plan.by_right[READ]
        if self._granting(scope, rules, path, element, chain):
            return "read"
        if self._is_container(scope, rules, path) or self._granting(scope, scope.plan.view_only, path, element,
                                                                     chain):
            return "view"
        return "none"

    def _element_allows(self, caller: Caller, right: str, target: Target, route: str | None) -> bool:
        scope = _Scope(self._plan(caller), target.obj or {}, route)
        path = _parse_path(target.id_short_path or "")
        return bool(self._granting(scope, scope.plan.by_right.get(right, []), path, target.element or {}, ()))

    def filter_submodel(self, caller: Caller | None, submodel: JSON, right: str = READ,
                        route: str | None = None) -> JSON:
        """The submodel with only the elements ``caller`` may see (may be ``submodel`` itself when all are)."""
        if caller is None:
            return submodel
        scope = self._scope(caller, submodel, route)
        elements = submodel.get("submodelElements")
        if not elements:
            return submodel
        identifier = submodel.get("id")
        for rule in scope.plan.by_right.get(right, []):
            reach = self._reach[rule.number]
            if not reach.sme_filters and reach.whole(identifier, scope.route) and scope.plan.submodel_value(
                    rule, submodel):
                return submodel  # one rule grants every element: nothing to filter
        kept, changed = self._filter_children(scope, right, (), (), elements, frozenset(), frozenset(),
                                              by_index=False)
        return {**submodel, "submodelElements": kept} if changed else submodel

    def filter_element(self, caller: Caller | None, submodel: JSON, id_short_path: str, element: JSON,
                       right: str = READ, route: str | None = None, ancestors: Sequence[JSON] = ()) -> JSON | None:
        """One element as ``caller`` may see it (children filtered); ``None`` when it is hidden.

        ``submodel`` may be the header alone; ``ancestors``: the elements above, top-level first.
        """
        if caller is None:
            return element
        path = _parse_path(id_short_path)
        chain = tuple(ancestors) if len(ancestors) == len(path) - 1 else ()
        return self._filter_one(self._scope(caller, submodel, route), right, path, element, chain, frozenset(),
                                frozenset())

    def _filter_one(self, scope: _Scope, right: str, path: tuple[Any, ...], element: JSON, chain: tuple[JSON, ...],
                    read_from: frozenset[int], view_from: frozenset[int]) -> JSON | None:
        read = self._granting(scope, scope.plan.by_right.get(right, []), path, element, chain, read_from)
        if read:
            if any(not self._reach[number].sme_filters for number in read):
                return element  # the whole subtree, no FILTER below
            return self._with_children(scope, right, path, element, chain, frozenset(read), view_from, full=True)
        view = self._granting(scope, scope.plan.view_only, path, element, chain, view_from) if right == READ else (
            set())
        # the grants inherited from ancestors did not hold here (a FILTER): they stop at this element
        shown = self._with_children(scope, right, path, element, chain, frozenset(), frozenset(view), full=False)
        if view:
            return shown
        key = _CHILD_KEYS.get(element.get("modelType", ""))
        return shown if key and shown.get(key) else None

    def _with_children(self, scope: _Scope, right: str, path: tuple[Any, ...], element: JSON,
                       chain: tuple[JSON, ...], read_from: frozenset[int], view_from: frozenset[int],
                       full: bool) -> JSON:
        """``element`` (all of it, or only what VIEW shows) with its children filtered."""
        key = _CHILD_KEYS.get(element.get("modelType", ""))
        shown = dict(element) if full else {k: element[k] for k in VIEW_KEYS if k in element}
        if key and isinstance(element.get(key), list):
            shown[key], _ = self._filter_children(scope, right, path, (*chain, element), element[key], read_from,
                                                  view_from, by_index=element.get("modelType") == "SubmodelElementList")
        return shown

    def _filter_children(self, scope: _Scope, right: str, path: tuple[Any, ...], chain: tuple[JSON, ...],
                         children: list[JSON], read_from: frozenset[int], view_from: frozenset[int],
                         by_index: bool) -> tuple[list[JSON], bool]:
        kept: list[JSON] = []
        changed = False
        for index, child in enumerate(children):
            child_path = (*path, index if by_index else child.get("idShort"))
            result = self._filter_one(scope, right, child_path, child, chain, read_from, view_from)
            if result is not None:
                kept.append(result)
            changed = changed or result is not child
        return kept, changed

    # --- fields of identifiables -------------------------------------------------------------------------------

    def filter_fields(self, caller: Caller | None, kind: str, obj: JSON, route: str | None = None) -> JSON:
        """``obj`` without the FILTER fragments (``specificAssetIds[]``, ``submodels[]``, ``semanticId``...) that
        no granting rule lets through. Rules without such a FILTER let everything through."""
        if caller is None:
            return obj
        plan = self._plan(caller)
        root = KIND_ROOT[kind]
        route = _route(route)
        objs = self._objects(root, obj)
        env = plan.env.derive(objs, unknown=frozenset({"sme"}) if root == "sm" else frozenset())
        granting = [r for r in plan.by_right[READ]
                    if any(_covers(o, root, obj.get("id"), route) for o in r.objects) and r.evaluate(env) is not False]
        field_filters = [[f for f in r.filters if f.fragment.root in (root, "aasdesc" if root == "aas" else root)]
                         for r in granting]
        if not granting or any(not filters for filters in field_filters):
            return obj
        result = obj
        for fragment in {f.fragment for filters in field_filters for f in filters}:
            result = self._filter_field(result, fragment, root, plan, field_filters)
        return result

    def _filter_field(self, obj: JSON, fragment: FieldRef, root: str, plan: _Plan,
                      field_filters: list[list[Filter]]) -> JSON:
        """``obj`` without the value (or the list items) at ``fragment`` that no granting rule's FILTER admits."""
        steps = fragment.steps
        json_steps = _descriptor_steps(steps) if fragment.root == "aasdesc" and root == "aas" else steps
        array_at = json_steps.index(None) if None in json_steps else None
        container_steps = json_steps[:array_at] if array_at is not None else json_steps
        parent = _get_path(obj, container_steps[:-1])
        last = container_steps[-1] if container_steps else None
        if not isinstance(parent, dict) or last not in parent:
            return obj

        def admitted(env: Env) -> bool:
            return any(all(f.evaluate(env) is True for f in filters if f.fragment == fragment)
                       for filters in field_filters)

        copy = _copy_path(obj, container_steps[:-1])
        target = _get_path(copy, container_steps[:-1])
        objs = self._objects(root, obj)
        if array_at is None:
            if not admitted(plan.env.derive(objs)):
                del target[last]
            return copy
        # the list item under test is bound to the fragment's "[]", in both spellings ($aas# and $aasdesc#)
        keys = {(fragment.root, *steps[:steps.index(None) + 1])}
        if root == "aas" and container_steps[:2] == ("assetInformation", "specificAssetIds"):
            keys |= {("aas", "assetInformation", "specificAssetIds", None), ("aasdesc", "specificAssetIds", None)}
        kept = []
        for item in parent[last] or []:
            env = plan.env.derive(objs)
            env.bindings.update(dict.fromkeys(keys, item))
            if admitted(env):
                kept.append(item)
        target[last] = kept
        return copy

    # --- pushdown ----------------------------------------------------------------------------------------------

    def store_filter(self, caller: Caller | None, right: str, kind: str) -> list[Query] | None:
        """Store queries whose union holds every ``kind`` object the rules may allow; ``None``: no pushdown."""
        if caller is None:
            return [Query()]
        plan = self._plan(caller)
        roots = PUSH_ROOTS.get(kind)
        if roots is None:
            return None
        route = _route(None)
        # the fields of this kind are unknown; those of other kinds have no values, as in :meth:`allows`
        env = plan.env.derive({}, unknown=frozenset(roots) | ({"sme"} if kind == "submodel" else frozenset()))
        queries: list[Query] = []
        for rule in plan.by_right.get(right, []):
            coverage = [o for o in rule.objects if _pushdown_covers(o, roots[0], route)]
            if not coverage:
                continue
            if any(o.identifier is not None for o in coverage if o.kind in ("IDENTIFIABLE", "REFERABLE")):
                if rule.evaluate(env) is False:
                    continue
                return None  # an id equality: Query has no id filter
            for conjunction in to_dnf(rule.formula, env, roots):
                query = to_query(conjunction)
                if query is None:
                    continue
                if query == Query():
                    return None
                if query not in queries:
                    queries.append(query)
        return queries


def _pushdown_covers(obj: ObjectRef, root: str, route: str | None) -> bool:
    if obj.kind == "ROUTE":
        return route is None or (obj.route is not None and obj.route.fullmatch(route) is not None)
    return _covers(obj, root, None, route) is not None or (obj.kind in ("IDENTIFIABLE", "DESCRIPTOR", "REFERABLE")
                                                          and obj.root == root)


def _descriptor_steps(steps: tuple[Any, ...]) -> tuple[Any, ...]:
    """``$aasdesc#specificAssetIds[]`` on a shell is ``assetInformation.specificAssetIds[]``."""
    if steps and steps[0] in ("specificAssetIds", "globalAssetId", "assetKind", "assetType"):
        return ("assetInformation", *steps)
    return steps


def _ancestor(submodel: JSON, chain: tuple[JSON, ...], path: tuple[Any, ...], depth: int) -> JSON | None:
    """The element at ``path[:depth]``: from ``chain`` (the elements above, aligned with ``path``), else looked up
    in the submodel's elements (``None``: only the header is at hand)."""
    if len(chain) == len(path) - 1:
        return chain[depth - 1]
    current: Any = submodel
    for step in path[:depth]:
        key = "submodelElements" if current is submodel else _CHILD_KEYS.get(current.get("modelType", ""), "")
        children = current.get(key) if key else None
        if not isinstance(children, list):
            return None
        if isinstance(step, int):
            current = children[step] if step < len(children) else None
        else:
            current = next((c for c in children if isinstance(c, dict) and c.get("idShort") == step), None)
        if current is None:
            return None
    return current if isinstance(current, dict) else None


def _get_path(obj: Any, steps: Iterable[Any]) -> Any:
    for step in steps:
        if not isinstance(obj, dict) or step not in obj:
            return None
        obj = obj[step]
    return obj


def _copy_path(obj: JSON, steps: Iterable[Any]) -> JSON:
    """A copy of ``obj`` whose dicts along ``steps`` are copies too (so they can be changed)."""
    root = dict(obj)
    current = root
    for step in steps:
        current[step] = dict(current[step])
        current = current[step]
    return root


class RuleSource(WatchedFile[RuleSet]):
    """A rule file that is reloaded when it changes; a broken new version leaves the old rules in force.

    :raises RuleFileError: (from the constructor) the file is missing or not a valid rule model
    """

    what = "access rules"
    held = "rules"

    def parse(self, data: bytes) -> RuleSet:
        try:
            text = data.decode("utf-8-sig")  # an editor's byte order mark is no error
        except UnicodeDecodeError:
            raise RuleFileError(f"{self.path}: not UTF-8", path=self.path) from None
        return RuleSet.from_text(text, self.path)

    def unreadable(self, reason: str) -> RuleFileError:
        return RuleFileError(f"{self.path}: cannot read the rule file: {reason}", path=self.path)
