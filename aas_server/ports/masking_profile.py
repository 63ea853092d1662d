"""Masking profiles: the YAML file a port names under ``masking``, validated with line and column of every fault.

A profile is an ordered list of rules. Each rule has conditions (``match``) and a transform; for every submodel
element the first rule whose conditions all hold decides the form the element is served in. Conditions and globs
are compiled here, once, because the masker evaluates them for every element of every external request.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from adapters.mapping_yaml import (
    Problems,
    YamlMap,
    YamlSeq,
    build_marked,
    mark_at,
)
from submodels import templates as registry

from ..errors import InvalidRequestError
from ..security.caller import Caller
from ..security.watched_file import WatchedFile
from ..settings import secret_from_env

#: transforms a rule may name; ``keep`` serves the raw value (an exception before a broader rule)
TRANSFORMS = ("keep", "drop", "redact", "hmac", "tokenize", "generalize", "dp")
#: what elements no rule matches get (``keep``: raw; ``redact``/``drop``: masking by default)
DEFAULTS = ("keep", "redact", "drop")
TRUNCATE_LEVELS = ("year", "month", "day", "hour", "minute")
#: valueTypes whose lexical space holds a keyed hash or a token unchanged
STRING_TYPES = frozenset({"xs:string", "xs:anyURI", "xs:normalizedString"})
MIN_SECRET_BYTES = 32
#: kinds whose ``$value`` is their own value, which ``redact`` leaves empty: refused where a template requires
#: the element (``SubmodelElement``: any kind). Collections, lists, Entities (entityType stays, and an asset id
#: where the metamodel needs one), BasicEventElements (``observed`` stays), Capabilities and Operations keep the
#: shape a schema requires when redacted; their required children are checked on their own.
VALUE_REQUIRED_KINDS = frozenset({"Property", "MultiLanguageProperty", "Range", "File", "Blob", "ReferenceElement",
                                  "RelationshipElement", "AnnotatedRelationshipElement", "SubmodelElement"})

_RULE_KEYS = ("name", "match", "transform", "generalize", "dp", "per_partner")
_MATCH_KEYS = ("submodel_id", "submodel_semantic_id", "template", "path", "semantic_id", "qualifier", "caller")
_CALLER_KEYS = ("port", "internal", "bpn", "role", "subject", "contract_agreement")


class MaskingProfileError(InvalidRequestError):
    """An invalid masking profile; ``problems`` are ``(line, column, message)``, 1-based, in file order."""

    def __init__(self, file: str, problems: list[tuple[int, int, str]]) -> None:
        self.file = file
        self.problems = sorted(problems)
        line, column, _ = self.problems[0]
        super().__init__("invalid masking profile: " + "; ".join(
            f"line {ln}, column {col}: {message}" for ln, col, message in self.problems),
            path=f"{file}:{line}:{column}")


@dataclasses.dataclass(frozen=True)
class Generalization:
    """How ``generalize`` coarsens a value; each option applies to the values it fits (numbers, dates, text)."""

    decimals: int | None = None  # round numbers to this many decimal places (negative: tens, hundreds, ...)
    bucket: int | float | None = None  # numbers to the lower bound of their bucket of this width
    truncate: str | None = None  # dates, times and timestamps to this unit (TRUNCATE_LEVELS)
    prefix: int | None = None  # keep this many leading characters of text ...
    fill: str = "*"  # ... followed by this


@dataclasses.dataclass(frozen=True)
class CallerMatch:
    """Conditions on the caller; each given one must hold (lists: any of)."""

    ports: frozenset[str] | None = None
    internal: bool | None = None
    bpns: frozenset[str] | None = None
    roles: frozenset[str] | None = None
    subjects: frozenset[str] | None = None
    #: ``True``: an agreement is present; ``False``: none; a set: one of these agreement ids
    contract_agreement: bool | frozenset[str] | None = None

    def holds(self, caller: Caller | None) -> bool:
        if caller is None:  # the system (no request) matches no caller condition
            return False
        if self.ports is not None and caller.port not in self.ports:
            return False
        if self.internal is not None and caller.internal != self.internal:
            return False
        if self.bpns is not None and caller.bpn not in self.bpns:
            return False
        if self.roles is not None and not self.roles & caller.roles:
            return False
        if self.subjects is not None and caller.subject not in self.subjects:
            return False
        agreement = self.contract_agreement
        if isinstance(agreement, bool):
            return (caller.contract_agreement is not None) == agreement
        return agreement is None or caller.contract_agreement in agreement


Matcher = Callable[[str], Any]  # a compiled regular expression's fullmatch


@dataclasses.dataclass(frozen=True)
class Rule:
    """One rule of a profile. ``line`` is where it starts in the file (for logs and errors)."""

    name: str
    line: int
    transform: str
    submodel_ids: Matcher | None = None
    submodel_semantic_ids: Matcher | None = None
    #: idShortPath glob compiled against the slash form of a path (see :func:`slash_path`)
    path: Matcher | None = None
    semantic_ids: Matcher | None = None
    #: (qualifier type, required value or None)
    qualifiers: tuple[tuple[str, str | None], ...] = ()
    caller: CallerMatch | None = None
    generalization: Generalization | None = None
    dp_spec: Any = None  # aas_server.ports.privacy.AggregateSpec
    per_partner: bool = True

    def applies_to(self, header: Mapping[str, Any], caller: Caller | None) -> bool:
        """The submodel- and caller-level conditions, checked once per masking call."""
        if self.submodel_ids is not None and not self.submodel_ids(str(header.get("id", ""))):
            return False
        if self.submodel_semantic_ids is not None and not self.submodel_semantic_ids(semantic_id_of(header)):
            return False
        return self.caller is None or self.caller.holds(caller)

    def matches(self, element: Mapping[str, Any], slashed: str) -> bool:
        """The element-level conditions."""
        if self.path is not None and not self.path(slashed):
            return False
        if self.semantic_ids is not None and not self.semantic_ids(semantic_id_of(element)):
            return False
        if self.qualifiers:
            present = element.get("qualifiers") or ()
            return any(q.get("type") == kind and (value is None or q.get("value") == value)
                       for kind, value in self.qualifiers for q in present)
        return True


@dataclasses.dataclass(frozen=True)
class MaskingProfile:
    name: str
    rules: tuple[Rule, ...]
    #: the rule standing for the profile's ``default`` (applies where no rule and no ancestor's rule does)
    default: Rule
    #: the secret behind hmac and tokenize, ``None`` when no rule needs one
    secret: bytes | None = None

    @property
    def uses_dp(self) -> bool:
        return any(rule.transform == "dp" for rule in self.rules)


def semantic_id_of(obj: Mapping[str, Any]) -> str:
    """The value of the first key of ``obj``'s semanticId ("" when it has none)."""
    keys = (obj.get("semanticId") or {}).get("keys") or ()
    return str(keys[0].get("value", "")) if keys else ""


def template_of(submodel_semantic_id: str) -> registry.Template | None:
    """The registered template with this submodel semanticId, if any."""
    return next((t for t in registry.TEMPLATES.values() if t.semantic_id == submodel_semantic_id), None)


def slash_path(segments: Sequence[str | int]) -> str:
    """``("Coll", "List", 2, "X")`` -> ``"/Coll/List/2/X"``: the form path globs are compiled against (an idShort
    starts with a letter, so a segment of digits is a list index)."""
    return "".join(f"/{segment}" for segment in segments)


def compile_path_globs(globs: Sequence[str]) -> Matcher:
    """idShortPath globs (any of them) as the API writes paths: ``*`` any characters within one segment, ``**``
    any number of segments (zero included), ``[*]`` any list index, ``[3]`` that index.

    :raises ValueError: on a malformed glob
    """
    return re.compile("|".join(f"(?:{_path_regex(glob)})" for glob in globs)).fullmatch


def _path_regex(glob: str) -> str:
    if not glob:
        raise ValueError("a path glob is empty")
    parts: list[str] = []
    for part in glob.split("."):
        if part == "**":
            parts.append("(?:/[^/]+)*")
            continue
        match = re.fullmatch(r"([A-Za-z0-9_*?-]+)((?:\[(?:\d+|\*)\])*)", part)
        if match is None:
            raise ValueError(f"invalid path glob segment {part!r} (idShorts with * and ?, [n] or [*] for list "
                             f"items, ** for any depth)")
        parts.append("/" + _segment_regex(match.group(1)))
        for index in re.findall(r"\[(\d+|\*)\]", match.group(2)):
            parts.append(r"/\d+" if index == "*" else f"/{index}")
    return "".join(parts)


def _segment_regex(glob: str) -> str:
    return "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in glob)


def compile_id_globs(globs: Sequence[str]) -> Matcher:
    """Identifier globs (``*`` any characters including ``/``, ``?`` one); ``[`` is literal, as in ids."""
    translated = ("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob) for glob in globs)
    return re.compile("|".join(f"(?:{t})" for t in translated), re.DOTALL).fullmatch


# -- loading --------------------------------------------------------------------------------------------------


def load_profile(path: str | Path, environ: Mapping[str, str] | None = None) -> MaskingProfile:
    """Read and validate a masking profile.

    :param environ: where the secret named by ``keys.secret_env`` is looked up (default: the process environment)
    :raises MaskingProfileError: listing every problem with line and column
    """
    return ProfileSource(path, environ).current()


class ProfileSource(WatchedFile[MaskingProfile]):
    """A port's masking profile file, reloaded when it changes (like its access rules); a broken new version is
    logged with its line errors and the profile loaded before stays in force.

    :param environ: as for :func:`load_profile`
    :raises MaskingProfileError: (from the constructor) the file is missing or invalid
    """

    what = "masking profile"
    held = "profile"

    def __init__(self, path: str | Path, environ: Mapping[str, str] | None = None) -> None:
        self.environ = environ
        super().__init__(path)

    def parse(self, data: bytes) -> MaskingProfile:
        return parse_profile(data.decode("utf-8-sig", errors="replace"), self.path, self.environ)

    def unreadable(self, reason: str) -> MaskingProfileError:
        return MaskingProfileError(self.path, [(0, 0, f"cannot read the masking profile: {reason}")])


def parse_profile(text: str, file: str = "<masking profile>",
                  environ: Mapping[str, str] | None = None) -> MaskingProfile:
    """Validate profile text (see :func:`load_profile`)."""
    return build_marked(text, file, MaskingProfileError,
                        "a masking profile holds a YAML mapping (version, rules, ...)",
                        lambda doc, problems: _ProfileReader(problems, environ).profile(doc, Path(file).stem))


class _ProfileReader:
    """Validates the document and builds the profile; every problem is recorded, none stops the walk."""

    def __init__(self, problems: Problems, environ: Mapping[str, str] | None) -> None:
        self.problems = problems
        self.environ = environ
        #: redact rules on a template's elements, checked once all rules are read (another may name a child)
        self.redactions: list[tuple[Rule, registry.Template, tuple[int, int]]] = []

    def fail(self, mark: tuple[int, int], message: str) -> None:
        self.problems.add(mark, message)

    def keys(self, doc: YamlMap, allowed: Sequence[str], where: str, required: Sequence[str] = ()) -> None:
        self.problems.check_keys(doc, allowed, where, required)

    def profile(self, doc: YamlMap, stem: str) -> MaskingProfile | None:
        self.keys(doc, ("version", "name", "description", "keys", "default", "rules"), "profile", ("version", "rules"))
        if "version" in doc and doc["version"] != 1:
            self.fail(mark_at(doc, "version"), f"unsupported version {doc['version']!r} (this reader knows 1)")
        default = doc.get("default", "keep")
        if default not in DEFAULTS:
            self.fail(mark_at(doc, "default"), f"default must be one of {', '.join(DEFAULTS)}, not {default!r}")
            default = "keep"
        keys = doc.get("keys", YamlMap())
        per_partner = True
        secret_env: str | None = None
        if not isinstance(keys, YamlMap):
            self.fail(mark_at(doc, "keys"), "keys must be a mapping (secret_env, per_partner)")
        else:
            self.keys(keys, ("secret_env", "per_partner"), "keys")
            per_partner = self.boolean(keys, "per_partner", True)
            secret_env = keys.get("secret_env")
            if "secret_env" in keys and not (isinstance(secret_env, str) and secret_env):
                self.fail(mark_at(keys, "secret_env"), "secret_env names the environment variable of the secret")
                secret_env = None
        items = doc.get("rules")
        rules: list[Rule] = []
        if "rules" in doc and not isinstance(items, YamlSeq):
            self.fail(mark_at(doc, "rules"), "rules must be a list")
        elif isinstance(items, YamlSeq):
            for i, item in enumerate(items):
                rule = self.rule(item, mark_at(items, i), i, per_partner)
                if rule is not None:
                    rules.append(rule)
        for rule, template, mark in self.redactions:
            self.check_redaction(rule, template, mark, rules)
        secret = self.secret(doc, keys, secret_env, rules)
        return MaskingProfile(name=str(doc.get("name") or stem), rules=tuple(rules), secret=secret,
                              default=Rule(name="default", line=mark_at(doc, "default")[0], transform=str(default)))

    def secret(self, doc: YamlMap, keys: Any, env: str | None, rules: list[Rule]) -> bytes | None:
        keyed = [rule for rule in rules if rule.transform in ("hmac", "tokenize")]
        if not keyed:
            return None
        if env is None:
            self.fail(mark_at(doc, "keys") if isinstance(keys, YamlMap) else doc.mark,
                      f"rule {keyed[0].name!r} (line {keyed[0].line}) uses {keyed[0].transform}: "
                      f"keys.secret_env must name the environment variable holding the secret")
            return None
        value = secret_from_env(env, self.environ)
        if value is None or len(value.encode("utf-8")) < MIN_SECRET_BYTES:
            self.fail(mark_at(keys, "secret_env"), f"environment variable {env} must hold a secret of at least "
                      f"{MIN_SECRET_BYTES} bytes ({'unset' if value is None else 'too short'})")
            return None
        return value.encode("utf-8")

    def rule(self, item: Any, mark: tuple[int, int], index: int, per_partner: bool) -> Rule | None:
        if not isinstance(item, YamlMap):
            self.fail(mark, "a rule is a mapping (name, match, transform)")
            return None
        self.keys(item, _RULE_KEYS, "rule", ("transform",))
        name = str(item.get("name") or f"rule {index + 1}")
        transform = item.get("transform")
        if "transform" in item and transform not in TRANSFORMS:
            self.fail(mark_at(item, "transform"), f"transform must be one of {', '.join(TRANSFORMS)}, "
                      f"not {transform!r}")
            return None
        for option in ("generalize", "dp"):
            if option in item and transform != option:
                self.fail(mark_at(item, option), f"{option} options belong to transform {option}")
        if "per_partner" in item and transform not in ("hmac", "tokenize"):
            self.fail(mark_at(item, "per_partner"), "per_partner belongs to transforms hmac and tokenize")
        match = item.get("match", YamlMap())
        if not isinstance(match, YamlMap):
            self.fail(mark_at(item, "match"), "match must be a mapping of conditions")
            match = YamlMap()
        fields, template = self.match(match)
        rule = Rule(name=name, line=mark[0], transform=str(transform), **fields,
                    generalization=self.generalization(item) if transform == "generalize" else None,
                    dp_spec=self.dp_spec(item) if transform == "dp" else None,
                    per_partner=self.boolean(item, "per_partner", per_partner))
        if template is not None and rule.path is not None:
            self.check_against_template(rule, template, mark_at(match, "path"))
        if template is not None and rule.transform == "redact" and (rule.path or rule.semantic_ids) is not None:
            self.redactions.append((rule, template, mark_at(match, "path" if rule.path else "semantic_id")))
        if transform == "dp" and rule.path is not None and all(
                re.search(r"\[(?:\d+|\*)\]$", glob) for glob in self.strings(match, "path")):
            self.fail(mark_at(match, "path"), f"rule {name!r}: dp on list items would put a computed collection "
                      f"into a SubmodelElementList, whose items must all have its one type and semanticId "
                      f"(AASd-108, AASd-107): apply dp to the whole list or to elements inside its items")
        return rule

    def match(self, match: YamlMap) -> tuple[dict[str, Any], registry.Template | None]:
        self.keys(match, _MATCH_KEYS, "match")
        fields: dict[str, Any] = {}
        for key, field in (("submodel_id", "submodel_ids"), ("submodel_semantic_id", "submodel_semantic_ids"),
                           ("semantic_id", "semantic_ids")):
            if key in match:
                values = self.strings(match, key)
                fields[field] = compile_id_globs(values) if values else None
        if "template" in match and "submodel_semantic_id" in match:
            self.fail(mark_at(match, "template"), "give template or submodel_semantic_id, not both")
        template = self.template(match)
        if template is not None and "template" in match:
            fields["submodel_semantic_ids"] = re.compile(re.escape(template.semantic_id)).fullmatch
        if "path" in match:
            globs = self.strings(match, "path")
            try:
                fields["path"] = compile_path_globs(globs) if globs else None
            except ValueError as e:
                self.fail(mark_at(match, "path"), str(e))
        if "qualifier" in match:
            fields["qualifiers"] = self.qualifiers(match)
        if "caller" in match:
            fields["caller"] = self.caller(match)
        return fields, template

    def template(self, match: YamlMap) -> registry.Template | None:
        """The template a rule names, or whose semanticId it matches exactly (then drop/hmac are checked)."""
        if "template" in match:
            try:
                return registry.get_template(str(match["template"]))
            except ValueError as e:
                self.fail(mark_at(match, "template"), str(e))
                return None
        return template_of(str(match.get("submodel_semantic_id", "")))

    def check_against_template(self, rule: Rule, template: registry.Template, mark: tuple[int, int]) -> None:
        """Refuse what would break a partner's typed schema: dropping a required element, hashing a non-string
        or a value with a pattern (a Catena-X catenaXId must stay a UUID)."""
        assert rule.path is not None
        for spec in template.elements:
            if registry.ARBITRARY in spec.path:
                continue
            sample = spec.path.replace("[]", "[0]").replace(registry.COUNTED, "")
            if not rule.path(slash_path(registry.parse_path(sample))):
                continue
            if rule.transform == "drop" and spec.required:
                self.fail(mark, f"rule {rule.name!r} drops {spec.path}, which template {template.name!r} requires:"
                          f" use generalize or redact")
            if rule.transform not in ("hmac", "tokenize") or spec.model_type not in ("Property", "Range"):
                continue
            if spec.value_type not in STRING_TYPES:
                self.fail(mark, f"rule {rule.name!r}: {rule.transform} gives text, but {spec.path} of template "
                          f"{template.name!r} is {spec.value_type}: use generalize or redact")
            elif spec.pattern is not None:
                self.fail(mark, f"rule {rule.name!r}: {spec.path} of template {template.name!r} must match "
                          f"{spec.pattern}, which a {rule.transform} value does not: use generalize or redact")

    def check_redaction(self, rule: Rule, template: registry.Template, mark: tuple[int, int],
                        rules: list[Rule]) -> None:
        """Refuse ``redact`` on an element the template requires with a value (see :data:`VALUE_REQUIRED_KINDS`):
        its field would be empty in the aspect's ``$value``, which a partner's schema rejects. Also when the
        element inherits the redaction from a container, unless another rule names it or a container between."""
        specs = {spec.path: spec for spec in template.elements if registry.ARBITRARY not in spec.path}
        samples = {path: slash_path(registry.parse_path(path.replace("[]", "[0]").replace(registry.COUNTED, "")))
                   for path in specs}

        def names(other: Rule, path: str) -> bool:
            if other.path is None and other.semantic_ids is None:
                return False
            return ((other.path is None or bool(other.path(samples[path])))
                    and (other.semantic_ids is None or bool(other.semantic_ids(specs[path].semantic_id or ""))))

        others = [other for other in rules if other is not rule and other.caller is None
                  and other.submodel_ids is None and (other.submodel_semantic_ids is None
                                                      or other.submodel_semantic_ids(template.semantic_id))]
        for spec in specs.values():
            if not spec.required or spec.model_type not in VALUE_REQUIRED_KINDS:
                continue
            nearest_first = sorted((p for p in specs if spec.path.startswith((f"{p}.", f"{p}["))), key=len,
                                   reverse=True)
            for path in (spec.path, *nearest_first):
                if names(rule, path):
                    via = "" if path == spec.path else f" (inherited from {path})"
                    self.fail(mark, f"rule {rule.name!r} redacts {spec.path}{via}, which template "
                              f"{template.name!r} requires with a value: its field would be empty in the $value a "
                              f"partner's schema checks; use generalize (a coarser value of the same type)")
                    break
                if any(names(other, path) for other in others):
                    break

    def strings(self, parent: YamlMap, key: str) -> list[str]:
        value = parent[key]
        values = list(value) if isinstance(value, YamlSeq) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            self.fail(mark_at(parent, key), f"{key} must be a text or a list of texts")
            return []
        return [str(v) for v in values]

    def boolean(self, parent: YamlMap, key: str, default: bool) -> bool:
        value = parent.get(key, default)
        if not isinstance(value, bool):
            self.fail(mark_at(parent, key), f"{key} must be true or false")
            return default
        return value

    def qualifiers(self, match: YamlMap) -> tuple[tuple[str, str | None], ...]:
        value = match["qualifier"]
        items = list(value) if isinstance(value, YamlSeq) else [value]
        found: list[tuple[str, str | None]] = []
        for item in items:
            if isinstance(item, str) and item:
                found.append((item, None))
            elif isinstance(item, YamlMap) and isinstance(item.get("type"), str):
                self.keys(item, ("type", "value"), "qualifier")
                found.append((item["type"], None if item.get("value") is None else str(item["value"])))
            else:
                self.fail(mark_at(match, "qualifier"), "qualifier is a type (PersonalData), {type, value} or a "
                          "list of them")
        return tuple(found)

    def caller(self, match: YamlMap) -> CallerMatch | None:
        conditions = match["caller"]
        if not isinstance(conditions, YamlMap):
            self.fail(mark_at(match, "caller"), f"caller must be a mapping ({', '.join(_CALLER_KEYS)})")
            return None
        self.keys(conditions, _CALLER_KEYS, "caller")
        sets = {key: frozenset(self.strings(conditions, key)) for key in ("port", "bpn", "role", "subject")
                if key in conditions}
        agreement: bool | frozenset[str] | None = None
        if "contract_agreement" in conditions:
            value = conditions["contract_agreement"]
            agreement = value if isinstance(value, bool) else frozenset(self.strings(conditions,
                                                                                     "contract_agreement"))
        return CallerMatch(ports=sets.get("port"), bpns=sets.get("bpn"), roles=sets.get("role"),
                           subjects=sets.get("subject"), contract_agreement=agreement,
                           internal=self.boolean(conditions, "internal", False) if "internal" in conditions else None)

    def generalization(self, item: YamlMap) -> Generalization | None:
        options = item.get("generalize")
        if not isinstance(options, YamlMap) or not options:
            self.fail(mark_at(item, "generalize") if "generalize" in item else item.mark,
                      "transform generalize needs options: generalize: {decimals, bucket, truncate, prefix, fill}")
            return None
        self.keys(options, ("decimals", "bucket", "truncate", "prefix", "fill"), "generalize")
        if "decimals" in options and "bucket" in options:
            self.fail(mark_at(options, "bucket"), "give decimals or bucket, not both")
        found: dict[str, Any] = {}
        for key, check, message in (
                ("decimals", lambda v: isinstance(v, int) and not isinstance(v, bool) and -18 <= v <= 18,
                 "an integer between -18 and 18"),
                ("bucket", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
                 "a positive number"),
                ("truncate", lambda v: v in TRUNCATE_LEVELS, f"one of {', '.join(TRUNCATE_LEVELS)}"),
                ("prefix", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                 "a number of characters (0 or more)"),
                ("fill", lambda v: isinstance(v, str), "a text")):
            if key in options:
                if check(options[key]):
                    found[key] = options[key]
                else:
                    self.fail(mark_at(options, key), f"generalize.{key} must be {message}")
        return Generalization(**found)

    def dp_spec(self, item: YamlMap) -> Any:
        options = item.get("dp")
        if not isinstance(options, YamlMap):
            self.fail(mark_at(item, "dp") if "dp" in item else item.mark,
                      "transform dp needs the aggregate: dp: {statistic, epsilon, bounds, ...}")
            return None
        try:
            from . import privacy
        except ImportError as e:  # the privacy engine is a separate module; a profile cannot use dp without it
            self.fail(mark_at(item, "dp"), f"dp is not available: {e}")
            return None
        line, column = mark_at(item, "dp")
        try:
            return privacy.parse_spec(options, f"line {line}, column {column}")
        except (InvalidRequestError, ValueError) as e:
            self.fail((line, column), e.text if isinstance(e, InvalidRequestError) else f"dp: {e}")
            return None
