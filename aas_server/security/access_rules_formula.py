"""FORMULA / CONDITION expressions of IDTA-01004 compiled into Python closures once, at rule load.

An expression evaluates in an :class:`Env` (the caller's attributes, the clock, the objects at hand) to ``True``,
``False`` or ``None``: *unknown*, when it reads an object that is not at hand yet (a route check before any object
is loaded; a submodel check before its elements are). ``$and``/``$or``/``$not`` follow Kleene's three-valued logic,
so the caller can tell "denied for sure" from "depends on the object". A comparison of a field holding several
values (``specificAssetIds[].name``) is true when one value satisfies it; ``$match`` requires all its comparisons to
hold for the *same* list item. An invalid cast makes the whole expression false (IDTA-01004: "the result of the
complete expression becomes FALSE"); field values that do not convert are skipped.

The syntax tree is kept beside the closure for :mod:`access_rules_pushdown`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import regex  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

UNKNOWN: Any = type("Unknown", (), {"__repr__": lambda self: "UNKNOWN"})()
Values = list[Any]

#: longest `$regex` pattern accepted; the match itself runs under a timeout (the `regex` package)
REGEX_MAX_LENGTH = 256
REGEX_TIMEOUT_S = 0.02
#: a quantified group that itself holds a quantifier, e.g. ``(a+)+``, ``(a|aa)*``: the shape of catastrophic patterns
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*(?:[*+?}]|\|)(?:[^()\\]|\\.)*\)(?:[*+]|\{\d*,)")

ROOTS = ("aas", "sm", "sme", "cd", "aasdesc", "smdesc")
#: first field name after ``#`` allowed per root (IDTA-01004 FieldIdentifier / FieldIdentifierFragment)
FIELDS = {
    "aas": {"idShort", "id", "assetInformation", "submodels"},
    "sm": {"semanticId", "supplementalSemanticIds", "idShort", "id"},
    "sme": {"semanticId", "supplementalSemanticIds", "idShort", "value", "valueType", "language"},
    "cd": {"idShort", "id"},
    "aasdesc": {"idShort", "id", "assetKind", "assetType", "globalAssetId", "specificAssetIds", "endpoints",
                "submodelDescriptors", "description", "displayName", "extension", "administration"},
    "smdesc": {"semanticId", "supplementalSemanticIds", "idShort", "id", "endpoints"},
}
_JSON_KEY = {"protocolinformation": "protocolInformation"}
_ID_SHORT = r"[A-Za-z](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_SEGMENT = re.compile(rf"({_ID_SHORT})((?:\[(?:0|[1-9]\d*)?\])*)")
_INDEX = re.compile(r"\[(\d*)\]")
_FIELD = re.compile(r"\$(aasdesc|smdesc|aas|sme|sm|cd)(\.[^#]+)?(?:#(.+))?", re.IGNORECASE)


class FormulaError(ValueError):
    """A formula that is not valid IDTA-01004; ``where`` is the JSON path below the formula."""

    def __init__(self, message: str, where: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.where = where


class _Invalid(Exception):
    """An operation failed at evaluation time: the whole expression is false."""


# --- field identifiers -------------------------------------------------------------------------------------------

Step = Any  # str: JSON key | ("sme", idShort): child element | int: index | None: every item ("[]")


@dataclasses.dataclass(frozen=True)
class FieldRef:
    """``$sm#semanticId``, ``$sme.Docs[].State#value``, ``$aasdesc#specificAssetIds[].name`` parsed into steps."""

    root: str
    steps: tuple[Step, ...]
    text: str
    #: how the addressed JSON compares when it is not the last step's name (``$sme#language``: the value's languages)
    terminal: str = ""

    @property
    def sme_steps(self) -> tuple[Step, ...]:
        """The idShortPath part (``$sme.<path>``) as a pattern: idShort names, indexes, ``None`` for ``[]``."""
        out = []
        for step in self.steps:
            if isinstance(step, tuple):
                out.append(step[1])
            elif step is None or isinstance(step, int):
                if not out:
                    break
                out.append(step)
            else:
                break
        return tuple(out)

    @property
    def field(self) -> str:
        """The first field name after ``#`` ("" for a bare ``$sme.path`` fragment)."""
        return next((s for s in self.steps if isinstance(s, str)), "")


def _segments(text: str, sme: bool) -> list[Step]:
    steps: list[Step] = []
    for part in text.split("."):
        match = _SEGMENT.fullmatch(part)
        if not match:
            raise FormulaError(f"invalid path segment {part!r}")
        steps.append(("sme", match.group(1)) if sme else _JSON_KEY.get(match.group(1), match.group(1)))
        steps.extend(int(i) if i else None for i in _INDEX.findall(match.group(2)))
    return steps


@functools.lru_cache(maxsize=1024)
def parse_field(text: str, fragment: bool = False) -> FieldRef:
    """:raises FormulaError: not a FieldIdentifier (or FieldIdentifierFragment when ``fragment``)"""
    match = _FIELD.fullmatch(text)
    if not match:
        raise FormulaError(f"invalid field identifier {text!r}: expected $aas#, $sm#, $sme[.path]#, $cd#, $aasdesc#, "
                           "$smdesc# and a field")
    root, path, field = match.group(1).lower(), match.group(2), match.group(3)
    if path and root != "sme":
        raise FormulaError(f"invalid field identifier {text!r}: only $sme takes an idShortPath")
    if field is None and not (fragment and root == "sme"):
        raise FormulaError(f"invalid field identifier {text!r}: '#<field>' missing")
    steps: list[Step] = []
    try:
        if path:
            steps += _segments(path[1:], sme=True)
        if field is not None:
            tail = _segments(field, sme=False)
            if tail[0] not in FIELDS[root]:
                raise FormulaError(f"invalid field identifier {text!r}: ${root} has no field {tail[0]!r} "
                                   f"(allowed: {', '.join(sorted(FIELDS[root]))})")
            if root == "sme" and tail == ["language"]:
                return FieldRef(root, (*steps, "value"), text, terminal="language")
            steps += tail
    except FormulaError as e:
        raise FormulaError(f"{e.message} in {text!r}") from None
    return FieldRef(root, tuple(steps), text)


def parse_path_pattern(text: str) -> tuple[Step, ...]:
    """``Docs[].State`` -> ``("Docs", None, "State")``: an idShortPath with ``[]`` wildcards."""
    return tuple(s[1] if isinstance(s, tuple) else s for s in _segments(text, sme=True))


def path_matches(pattern: tuple[Step, ...], path: tuple[Any, ...]) -> bool:
    """``pattern`` addresses ``path`` itself or one of its ancestors (a grant covers the subtree)."""
    if len(pattern) > len(path):
        return False
    return all(p == s or (p is None and isinstance(s, int)) for p, s in zip(pattern, path))


def path_is_ancestor(path: tuple[Any, ...], pattern: tuple[Step, ...]) -> bool:
    """``path`` is a proper ancestor of what ``pattern`` addresses (a container of a granted element)."""
    return len(path) < len(pattern) and all(
        p == s or (p is None and isinstance(s, int)) for p, s in zip(pattern, path))


# --- evaluation environment --------------------------------------------------------------------------------------


class Env:
    """What an expression can read: caller attributes, clock, objects at hand, ``$match`` bindings."""

    __slots__ = ("anonymous", "bindings", "cache", "claims", "localnow", "objs", "sme_path", "unknown", "utcnow")

    def __init__(self, claims: dict[Any, list[Any]], anonymous: bool, utcnow: dt.datetime) -> None:
        self.claims = claims
        self.anonymous = anonymous
        self.utcnow = utcnow
        self.localnow = utcnow.astimezone()
        #: root -> object JSON (for "sme": the current element; "sm" also serves ``$sme.<path>`` lookups)
        self.objs: dict[str, Any] = {}
        #: roots whose object is not at hand yet: fields there are UNKNOWN
        self.unknown: frozenset[str] = frozenset()
        self.sme_path: tuple[Any, ...] = ()
        self.bindings: dict[tuple[Any, ...], Any] = {}
        #: values of the parts of expressions that read no object (caller and clock only), shared by derived envs
        self.cache: dict[int, bool | None] = {}

    def derive(self, objs: dict[str, Any], unknown: frozenset[str] = frozenset(),
               sme_path: tuple[Any, ...] = ()) -> Env:
        env = Env.__new__(Env)
        env.claims, env.anonymous, env.utcnow, env.localnow = self.claims, self.anonymous, self.utcnow, self.localnow
        env.objs, env.unknown, env.sme_path, env.bindings = objs, unknown, sme_path, {}
        env.cache = self.cache
        return env


def _children(element: Any) -> list[Any]:
    if not isinstance(element, dict):
        return []
    if "submodelElements" in element:
        return element.get("submodelElements") or []
    kind = element.get("modelType")
    if kind in ("SubmodelElementCollection", "SubmodelElementList"):
        return element.get("value") or []
    if kind == "Entity":
        return element.get("statements") or []
    if kind == "AnnotatedRelationshipElement":
        return element.get("annotations") or []
    return []


def _terminal(value: Any, field: str) -> Iterable[Any]:
    """What a field compares as: a Reference as its first key's value, a MultiLanguageProperty as its texts."""
    if isinstance(value, dict):
        if "keys" in value:
            keys = value.get("keys") or []
            if keys and field != "type":
                yield keys[0].get("value")
            elif field == "type":
                yield value.get("type")
        elif "language" in value:
            yield value.get("language" if field == "language" else "text")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and ("language" in item or "keys" in item):
                yield from _terminal(item, field)
    elif value is not None:
        yield value


def resolve(ref: FieldRef, env: Env, raw: bool = False) -> Values:
    """The values ``ref`` addresses in ``env`` (UNKNOWN if its object is not at hand); ``raw`` keeps JSON items."""
    root = ref.root
    steps = ref.steps
    if root == "sme" and steps and isinstance(steps[0], tuple):  # $sme.<idShortPath>#...
        pattern = ref.sme_steps
        current = env.sme_path
        if "sme" in env.objs and current and len(pattern) >= len(current) and all(
                p == c or (p is None and isinstance(c, int)) for p, c in zip(pattern, current)):
            items = [env.objs["sme"]]  # relative to the element at hand
            steps = steps[len(current):]
        elif "submodelElements" in (env.objs.get("sm") or {}):
            items = [env.objs["sm"]]
        else:
            return UNKNOWN if "sme" in env.unknown else []
    elif root in env.unknown:
        return UNKNOWN
    else:
        obj = env.objs.get(root)
        if obj is None:
            return []
        items = [obj]
    prefix: tuple[Any, ...] = (root,)
    consumed = len(ref.steps) - len(steps)
    prefix += ref.steps[:consumed]
    for step in steps:
        prefix += (step,)
        nxt: list[Any] = []
        if isinstance(step, tuple):
            for item in items:
                nxt.extend(c for c in _children(item) if c.get("idShort") == step[1])
        elif isinstance(step, str):
            nxt.extend(item[step] for item in items if isinstance(item, dict) and step in item)
        else:
            bound = env.bindings.get(prefix, UNKNOWN)
            if bound is not UNKNOWN:
                nxt.append(bound)
            else:
                for item in items:
                    seq = _children(item) if isinstance(item, dict) else item
                    if not isinstance(seq, list):
                        continue
                    if step is None:
                        nxt.extend(seq)
                    elif step < len(seq):
                        nxt.append(seq[step])
        items = nxt
    if raw:
        return items
    field = ref.terminal or (ref.steps[-1] if ref.steps and isinstance(ref.steps[-1], str) else "")
    return [v for item in items for v in _terminal(item, field)]


def _first_wildcard_prefix(ref: FieldRef, bound: Iterable[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    prefix: tuple[Any, ...] = (ref.root,)
    for step in ref.steps:
        prefix += (step,)
        if step is None and prefix not in bound:
            return prefix
    return None


# --- conversions -------------------------------------------------------------------------------------------------


def _to_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.isoformat()
    return str(v)


def _to_num(v: Any) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        text = v.strip()
        if text.startswith("16#"):
            return float(int(text[3:], 16))
        return float(text)
    raise ValueError(v)


def _to_hex(v: Any) -> int:
    if isinstance(v, bool):
        raise TypeError(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.startswith("16#"):
        return int(v[3:], 16)
    raise ValueError(v)


def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0"):
        return v.strip().lower() in ("true", "1")
    raise ValueError(v)


def _to_datetime(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        value = v
    elif isinstance(v, str):
        value = dt.datetime.fromisoformat(v.strip())
        if "T" not in v and " " not in v.strip():
            raise ValueError(v)  # a bare date is no xs:dateTime
    else:
        raise TypeError(v)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


_TIME = re.compile(r"(\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?(Z|[+-]\d\d:\d\d)?")


def _to_time(v: Any) -> float:
    """Seconds after midnight UTC (a time without zone is UTC, IDTA-01004)."""
    if isinstance(v, dt.datetime):
        utc = _to_datetime(v).astimezone(dt.UTC)
        return utc.hour * 3600 + utc.minute * 60 + utc.second + utc.microsecond / 1e6
    if not isinstance(v, str):
        raise TypeError(v)
    match = _TIME.fullmatch(v.strip())
    if not match:
        raise ValueError(v)
    hours, minutes, seconds, fraction, zone = match.groups()
    total = int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0) + float(fraction or 0)
    if total > 86400 or int(minutes) > 59 or int(seconds or 0) > 59:
        raise ValueError(v)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        total -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return total % 86400 if total != 86400 else total


CONVERT: dict[str, Callable[[Any], Any]] = {
    "str": _to_str, "num": _to_num, "hex": _to_hex, "bool": _to_bool, "datetime": _to_datetime, "time": _to_time,
}


# --- regex ---------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def compile_regex(pattern: str) -> regex.Pattern[str]:
    """:raises ValueError: pattern too long, catastrophic (nested quantifiers) or not a regex"""
    if len(pattern) > REGEX_MAX_LENGTH:
        raise ValueError(f"$regex pattern longer than {REGEX_MAX_LENGTH} characters")
    if _NESTED_QUANTIFIER.search(pattern):
        raise ValueError(f"$regex pattern {pattern!r} nests quantifiers (catastrophic backtracking)")
    try:
        return regex.compile(pattern)
    except regex.error as e:
        raise ValueError(f"$regex pattern {pattern!r} is not a regular expression: {e}") from None


def _regex_search(subject: str, pattern: str) -> bool:
    try:
        compiled = compile_regex(pattern)
        return compiled.search(subject, timeout=REGEX_TIMEOUT_S) is not None
    except ValueError as e:
        raise _Invalid(str(e)) from None
    except TimeoutError:
        logger.warning("$regex %r timed out on a %d-character value: treated as false", pattern, len(subject))
        raise _Invalid("regex timeout") from None


# --- syntax tree -------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Operand:
    kind: str  # field | literal | attribute | cast | datepart
    type: str  # field | attr | str | num | hex | bool | datetime | time
    value: Any = None  # FieldRef | literal | (attr kind, name) | Operand | (part, Operand)
    cast: str | None = None


@dataclasses.dataclass(frozen=True)
class Node:
    op: str  # $and $or $not $match $boolean $boolCast or a comparison operator
    args: tuple[Any, ...]


COMPARISONS = ("$eq", "$ne", "$gt", "$ge", "$lt", "$le")
STRING_OPS = ("$contains", "$starts-with", "$ends-with", "$regex")
_LITERALS = {"$strVal": "str", "$numVal": "num", "$hexVal": "hex", "$boolean": "bool", "$boolVal": "bool",
             "$dateTimeVal": "datetime", "$timeVal": "time"}
_CASTS = {"$strCast": "str", "$numCast": "num", "$hexCast": "hex", "$boolCast": "bool",
          "$dateTimeCast": "datetime", "$timeCast": "time"}
_DATE_PARTS = ("$dayOfWeek", "$dayOfMonth", "$month", "$year")
_GLOBALS = ("LOCALNOW", "UTCNOW", "CLIENTNOW", "ANONYMOUS")
_TYPE_NAMES = {"num": "number", "bool": "boolean"}
_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {"num": (int, float), "bool": bool}


def _single_key(obj: Any, where: tuple[str | int, ...], what: str) -> tuple[str, Any]:
    if not isinstance(obj, dict) or len(obj) != 1:
        raise FormulaError(f"{what} must be an object with exactly one operator key", where)
    return next(iter(obj.items()))


def parse_operand(obj: Any, where: tuple[str | int, ...] = ()) -> Operand:
    key, value = _single_key(obj, where, "an operand")
    here = (*where, key)
    if key == "$field":
        if not isinstance(value, str):
            raise FormulaError("$field takes a string", here)
        try:
            return Operand("field", "field", parse_field(value))
        except FormulaError as e:
            raise FormulaError(e.message, here) from None
    if key in _LITERALS:
        kind = _LITERALS[key]
        expected = _PYTHON_TYPES.get(kind, str)
        if not isinstance(value, expected) or (kind == "num" and isinstance(value, bool)):
            raise FormulaError(f"{key} takes a {_TYPE_NAMES.get(kind, 'string')}", here)
        try:
            converted = CONVERT[kind](value)
        except (ValueError, TypeError, OverflowError):
            raise FormulaError(f"{key} value {value!r} is not a valid {kind}", here) from None
        return Operand("literal", kind, converted)
    if key == "$attribute":
        attr_kind, name = _single_key(value, here, "$attribute")
        if attr_kind == "CLAIM" and isinstance(name, str) and name:
            return Operand("attribute", "attr", ("CLAIM", name))
        if attr_kind == "CLAIMPATH" and isinstance(name, str) and name.startswith("/"):
            return Operand("attribute", "attr", ("CLAIMPATH", name))
        if attr_kind == "GLOBAL" and name in _GLOBALS:
            return Operand("attribute", "bool" if name == "ANONYMOUS" else "datetime", ("GLOBAL", name))
        if attr_kind == "REFERENCE" and isinstance(name, str):
            try:
                ref = parse_field(name)  # the current object's field, e.g. {"REFERENCE": "$sm#id"}
            except FormulaError:
                raise FormulaError(f"REFERENCE {name!r}: only references to the object at hand ($sm#id, ...) are "
                                   "supported, not to other identifiables ($sm(\"...\")#...)", here) from None
            return Operand("field", "field", ref)
        raise FormulaError("$attribute takes {\"CLAIM\": name}, {\"CLAIMPATH\": \"/json/pointer\"}, "
                           "{\"GLOBAL\": LOCALNOW|UTCNOW|CLIENTNOW|ANONYMOUS} or {\"REFERENCE\": field}", here)
    if key in _CASTS:
        return Operand("cast", _CASTS[key], parse_operand(value, here))
    if key in _DATE_PARTS:
        inner = parse_operand(value, here)
        if inner.type not in ("datetime", "field", "attr", "str"):
            raise FormulaError(f"{key} takes a dateTime operand", here)
        return Operand("datepart", "num", (key, inner))
    raise FormulaError(f"unknown operand {key!r}", here)


def _comparison_type(op: str, a: Operand, b: Operand, where: tuple[str | int, ...]) -> str:
    if a.kind == "field" and b.kind == "field":
        raise FormulaError(f"{op} compares two fields; cast one of them ($strCast, $numCast, ...)", where)
    typed = [t for t in (a.type, b.type) if t not in ("field", "attr", "str")]
    if not typed:
        return "str"
    if len(typed) == 2 and typed[0] != typed[1]:
        if set(typed) == {"datetime", "time"}:
            return "time"
        raise FormulaError(f"{op} compares a {typed[0]} with a {typed[1]}", where)
    kind = typed[0]
    for operand in (a, b):
        if operand.kind == "literal" and operand.type == "str":
            try:
                CONVERT[kind](operand.value)
            except (ValueError, TypeError):
                raise FormulaError(f"{op}: {operand.value!r} is not a {kind}", where) from None
    if kind == "bool" and op not in ("$eq", "$ne"):
        raise FormulaError(f"{op} does not order booleans", where)
    return kind


def parse_expression(obj: Any, where: tuple[str | int, ...] = (), in_match: bool = False) -> Node:
    """:raises FormulaError: with the JSON path below the formula"""
    key, value = _single_key(obj, where, "a logical expression")
    here = (*where, key)
    if key in ("$and", "$or") and not in_match:
        if not isinstance(value, list) or len(value) < 2:
            raise FormulaError(f"{key} takes an array of at least two expressions", here)
        return Node(key, tuple(parse_expression(v, (*here, i)) for i, v in enumerate(value)))
    if key == "$not" and not in_match:
        return Node(key, (parse_expression(value, here),))
    if key == "$match":
        if not isinstance(value, list) or not value:
            raise FormulaError("$match takes a non-empty array", here)
        return Node(key, tuple(parse_expression(v, (*here, i), in_match=True) for i, v in enumerate(value)))
    if key == "$boolean" and not in_match:
        if not isinstance(value, bool):
            raise FormulaError("$boolean takes true or false", here)
        return Node(key, (value,))
    if key == "$boolCast" and not in_match:
        return Node(key, (parse_operand(value, here),))
    if key in COMPARISONS or key in STRING_OPS:
        if not isinstance(value, list) or len(value) != 2:
            raise FormulaError(f"{key} takes an array of two operands", here)
        a, b = (parse_operand(v, (*here, i)) for i, v in enumerate(value))
        if key in STRING_OPS:
            for i, operand in enumerate((a, b)):
                if operand.type not in ("field", "attr", "str"):
                    raise FormulaError(f"{key} takes string operands", (*here, i))
            if key == "$regex" and b.kind == "literal":
                try:
                    compile_regex(b.value)
                except ValueError as e:
                    raise FormulaError(str(e), (*here, 1)) from None
            return Node(key, (a, b, "str"))
        return Node(key, (a, b, _comparison_type(key, a, b, here)))
    raise FormulaError(f"unknown operator {key!r}", here)


def operands_of(node: Any) -> Iterable[Operand]:
    """Every operand in ``node``, casts and date parts included."""
    if isinstance(node, Node):
        for arg in node.args:
            yield from operands_of(arg)
    elif isinstance(node, Operand):
        yield node
        if isinstance(node.value, Operand):
            yield from operands_of(node.value)
        elif isinstance(node.value, tuple) and len(node.value) == 2 and isinstance(node.value[1], Operand):
            yield from operands_of(node.value[1])


def fields_of(node: Any) -> Iterable[FieldRef]:
    return (o.value for o in operands_of(node) if isinstance(o.value, FieldRef))


def claim_paths_of(node: Any) -> Iterable[str]:
    """The JSON pointers of ``{"CLAIMPATH": ...}`` attributes in ``node``."""
    return (o.value[1] for o in operands_of(node) if o.kind == "attribute" and o.value[0] == "CLAIMPATH")


def claim_path_key(pointer: str) -> tuple[str, str]:
    """Where :class:`Env` keeps the values of a CLAIMPATH (beside the claims by name)."""
    return ("CLAIMPATH", pointer)


# --- compilation -------------------------------------------------------------------------------------------------

Compiled = Callable[[Env], "bool | None"]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda x, y: x == y, "$ne": lambda x, y: x != y, "$gt": lambda x, y: x > y,
    "$ge": lambda x, y: x >= y, "$lt": lambda x, y: x < y, "$le": lambda x, y: x <= y,
    "$contains": lambda x, y: y in x, "$starts-with": lambda x, y: x.startswith(y),
    "$ends-with": lambda x, y: x.endswith(y), "$regex": _regex_search,
}


def _compile_operand(operand: Operand) -> Callable[[Env], Values]:
    if operand.kind == "literal":
        constant = [operand.value]
        return lambda env: constant
    if operand.kind == "field":
        ref = operand.value
        return lambda env: resolve(ref, env)
    if operand.kind == "attribute":
        kind, name = operand.value
        if kind in ("CLAIM", "CLAIMPATH"):
            key = name if kind == "CLAIM" else claim_path_key(name)
            return lambda env: env.claims.get(key, [])
        if name == "ANONYMOUS":
            return lambda env: [env.anonymous]
        if name == "UTCNOW":
            return lambda env: [env.utcnow]
        if name == "LOCALNOW":
            return lambda env: [env.localnow]
        return lambda env: [v for v in env.claims.get("CLIENTNOW", []) if v is not None]
    if operand.kind == "cast":
        inner = _compile_operand(operand.value)
        convert = CONVERT[operand.type]

        def cast(env: Env) -> Values:
            values = inner(env)
            if values is UNKNOWN:
                return UNKNOWN
            try:
                return [convert(v) for v in values]
            except (ValueError, TypeError, OverflowError):
                raise _Invalid(f"cannot cast {values!r} to {operand.type}") from None
        return cast
    part, inner_operand = operand.value
    inner = _compile_operand(inner_operand)
    extract = {"$dayOfWeek": lambda d: float(d.isoweekday() % 7), "$dayOfMonth": lambda d: float(d.day),
               "$month": lambda d: float(d.month), "$year": lambda d: float(d.year)}[part]

    def datepart(env: Env) -> Values:
        values = inner(env)
        if values is UNKNOWN:
            return UNKNOWN
        out = []
        for v in values:
            try:
                out.append(extract(_to_datetime(v)))
            except (ValueError, TypeError):
                if inner_operand.kind != "field":
                    raise _Invalid(f"{part} of {v!r}") from None
        return out
    return datepart


def operand_values(operand: Operand, env: Env) -> Values:
    """The values of one operand (UNKNOWN when they depend on an object not at hand, or are invalid)."""
    try:
        return _compile_operand(operand)(env)
    except _Invalid:
        return UNKNOWN


def _lenient(values: Values, convert: Callable[[Any], Any]) -> Values:
    out = []
    for v in values:
        try:
            out.append(convert(v))
        except (ValueError, TypeError, OverflowError):
            continue
    return out


def _compile_node(node: Node) -> Compiled:
    """``node`` as a closure; parts that read no object are evaluated once per caller (``Env.cache``)."""
    inner = _compile_uncached(node)
    if node.op == "$boolean" or any(True for _ in fields_of(node)):
        return inner
    key = id(inner)

    def cached(env: Env) -> bool | None:
        value = env.cache.get(key, _MISSING)
        if value is _MISSING:
            value = env.cache[key] = inner(env)
        return value  # type: ignore[return-value]
    return cached


_MISSING = object()


def _as_str(values: Values) -> Values:
    return [v if v.__class__ is str else _to_str(v) for v in values]


def _compile_uncached(node: Node) -> Compiled:
    op = node.op
    if op in ("$and", "$or"):
        parts = [_compile_node(n) for n in node.args]
        decisive = op == "$or"  # one True decides an $or, one False an $and
        return lambda env: _kleene(parts, env, decisive)
    if op == "$not":
        inner = _compile_node(node.args[0])

        def negate(env: Env) -> bool | None:
            value = inner(env)
            return None if value is None else not value
        return negate
    if op == "$boolean":
        constant = node.args[0]
        return lambda env: constant
    if op == "$boolCast":
        values_of = _compile_operand(node.args[0])

        def bool_cast(env: Env) -> bool | None:
            values = values_of(env)
            if values is UNKNOWN:
                return None
            try:
                return any(_to_bool(v) for v in values)
            except ValueError:
                raise _Invalid(f"cannot cast {values!r} to bool") from None
        return bool_cast
    if op == "$match":
        return _compile_match(node)
    a, b, kind = node.args
    left, right = _compile_operand(a), _compile_operand(b)
    convert = CONVERT[kind]
    lenient_left = a.kind in ("field", "attribute") or a.type != kind
    lenient_right = b.kind in ("field", "attribute") or b.type != kind
    compare = _OPS[op]

    def normalize(values: Values, lenient: bool) -> Values:
        if not lenient:
            return values
        return _as_str(values) if kind == "str" else _lenient(values, convert)

    def comparison(env: Env) -> bool | None:
        xs, ys = left(env), right(env)
        if xs is UNKNOWN or ys is UNKNOWN:
            return None
        xs, ys = normalize(xs, lenient_left), normalize(ys, lenient_right)
        try:
            for x in xs:
                for y in ys:
                    if compare(x, y):
                        return True
        except TypeError:  # values of one comparison type are always comparable; be safe
            raise _Invalid("incomparable values") from None
        return False
    return comparison


def _compile_match(node: Node) -> Compiled:
    """All parts hold for one and the same item of each ``[]`` list they address."""
    parts = [_compile_node(n) for n in node.args]
    refs = list(fields_of(node))

    def match(env: Env) -> bool | None:
        prefixes = []
        for ref in refs:
            prefix = _first_wildcard_prefix(ref, env.bindings)
            if prefix is not None and prefix not in prefixes:
                prefixes.append(prefix)
        if not prefixes:
            return _kleene(parts, env, False)
        candidates = []
        for prefix in prefixes:
            ref = next(r for r in refs if (r.root, *r.steps[:len(prefix) - 1]) == prefix)
            items = resolve(FieldRef(ref.root, ref.steps[:len(prefix) - 1], ref.text), env, raw=True)
            if items is UNKNOWN:
                return None
            candidates.append(items)
        result: bool | None = False
        saved = dict(env.bindings)
        try:
            for combo in itertools.product(*candidates):
                env.bindings = {**saved, **dict(zip(prefixes, combo))}
                value = _kleene(parts, env, False)
                if value is True:
                    return True
                if value is None:
                    result = None
        finally:
            env.bindings = saved
        return result
    return match


def _kleene(parts: list[Compiled], env: Env, decisive: bool) -> bool | None:
    """Three-valued $and (``decisive`` False) / $or (True): unknown only when no part decides."""
    result: bool | None = not decisive
    for part in parts:
        value = part(env)
        if value is decisive:
            return decisive
        if value is None:
            result = None
    return result


def compile_expression(node: Node) -> Compiled:
    """A closure evaluating ``node``; an invalid operation at run time makes the result False."""
    inner = _compile_node(node)

    def evaluate(env: Env) -> bool | None:
        try:
            return inner(env)
        except _Invalid as e:
            logger.debug("access rule expression invalid, treated as false: %s", e)
            return False
    return evaluate
