"""Rules turned into store queries: list routes fetch only what the caller may be allowed to see.

A rule's FORMULA is brought into disjunctive normal form with the caller's attributes already decided; each
conjunction keeps the comparisons a store index answers (``idShort``, ``semanticId``, global and specific asset
ids, i.e. :class:`aas_server.store.base.Query`) and drops the rest. Dropping a conjunct only widens the result, so
the union of the queries always *contains* every object the rules allow — the PolicyStore still checks each object.
"""
from __future__ import annotations

import functools
import itertools
from typing import Any

from ..model.index import ASSET_ID, asset_id_term
from ..store.base import Query
from .access_rules_formula import (
    UNKNOWN,
    Compiled,
    Env,
    FieldRef,
    Node,
    compile_expression,
    operand_values,
)

Atom = tuple[str, Any]  # ("id_short", v) | ("semantic_id", v) | ("term", (field, value))
Dnf = list[frozenset[Atom]]
TRUE: Dnf = [frozenset()]
FALSE: Dnf = []
MAX_ALTERNATIVES = 64

#: the identifiable kind a field root describes, for pushdown (a shell is also served as its descriptor)
PUSH_ROOTS = {"shell": ("aas", "aasdesc"), "submodel": ("sm", "smdesc"), "concept_description": ("cd",)}


@functools.lru_cache(maxsize=4096)
def _compiled(node: Node) -> Compiled:
    return compile_expression(node)


def _field_atom(ref: FieldRef, value: Any) -> Atom | None:
    if not isinstance(value, str):
        return None
    steps = ref.steps
    if steps == ("idShort",):
        return ("id_short", value)
    if ref.root in ("sm", "smdesc") and steps in (("semanticId",), ("semanticId", "keys", 0, "value")):
        return ("semantic_id", value)
    if steps in (("assetInformation", "globalAssetId"), ("globalAssetId",)):
        return ("term", (ASSET_ID, asset_id_term("globalAssetId", value)))
    return None


def _equality(node: Node, env: Env, roots: tuple[str, ...]) -> tuple[FieldRef, list[Any]] | None:
    """``field == constant`` on one of ``roots``: the field and the constant's values for this caller."""
    if node.op != "$eq":
        return None
    a, b, _ = node.args
    for field, other in ((a, b), (b, a)):
        if field.kind == "field" and field.value.root in roots and other.kind in ("literal", "attribute"):
            values = operand_values(other, env)
            if values is not UNKNOWN:
                return field.value, values
    return None


def _asset_id_pairs(node: Node, env: Env, roots: tuple[str, ...]) -> Dnf | None:
    """``$match`` of ``specificAssetIds[].name == n`` and ``.value == v``: the asset id term (n, v)."""
    names: list[Any] = []
    values: list[Any] = []
    for part in node.args:
        equality = _equality(part, env, roots) if isinstance(part, Node) else None
        if equality is None:
            continue
        ref, constants = equality
        if ref.steps[:-1] in (("assetInformation", "specificAssetIds", None), ("specificAssetIds", None)):
            if ref.steps[-1] == "name":
                names = constants
            elif ref.steps[-1] == "value":
                values = constants
    if not names or not values:
        return None
    return [frozenset({("term", (ASSET_ID, asset_id_term(n, v)))}) for n, v in itertools.product(names, values)
            if isinstance(n, str) and isinstance(v, str)]


def to_dnf(node: Node, env: Env, roots: tuple[str, ...]) -> Dnf:
    """Alternatives of pushable atoms whose union contains every object on which ``node`` may hold."""
    decided = _compiled(node)(env)
    if decided is not None:
        return TRUE if decided else FALSE
    if node.op == "$and":
        result = TRUE
        for child in node.args:
            child_dnf = to_dnf(child, env, roots)
            result = [a | b for a, b in itertools.product(result, child_dnf)]
            if len(result) > MAX_ALTERNATIVES:
                return TRUE
        return result
    if node.op == "$or":
        result = []
        for child in node.args:
            result += to_dnf(child, env, roots)
            if len(result) > MAX_ALTERNATIVES or frozenset() in result:
                return TRUE
        return result
    if node.op == "$match":
        pairs = _asset_id_pairs(node, env, roots)
        if pairs is not None:
            return pairs
        return TRUE
    equality = _equality(node, env, roots)
    if equality is not None:
        ref, constants = equality
        atoms = [_field_atom(ref, value) for value in constants]
        if atoms and all(atoms):
            return [frozenset({atom}) for atom in atoms if atom]
    return TRUE  # $not, $ne, ordering, string operations, other fields: not pushable, so no restriction


def to_query(conjunction: frozenset[Atom]) -> Query | None:
    """One store query, or None when the conjunction contradicts itself (two idShorts)."""
    id_shorts = {v for k, v in conjunction if k == "id_short"}
    semantic_ids = {v for k, v in conjunction if k == "semantic_id"}
    if len(id_shorts) > 1 or len(semantic_ids) > 1:
        return None
    terms = tuple(sorted(v for k, v in conjunction if k == "term"))
    return Query(id_short=next(iter(id_shorts), None), semantic_id=next(iter(semantic_ids), None), terms=terms)
