"""YAML with marks: every mapping and sequence remembers its line and column, so validation can point at them."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import yaml


class YamlMap(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers where it and each of its values are."""

    mark: tuple[int, int] = (0, 0)
    marks: dict[str, tuple[int, int]]


class YamlSeq(list):  # type: ignore[type-arg]
    mark: tuple[int, int] = (0, 0)
    marks: list[tuple[int, int]]


def _node_mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class Loader(yaml.SafeLoader):
    """SafeLoader keeping marks on mappings and sequences and rejecting duplicate keys."""

    duplicates: list[tuple[int, int, str]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> YamlMap:  # type: ignore[override]
        result = YamlMap()
        result.mark = _node_mark(node)
        result.marks = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            key = str(key) if key is not None else ""
            if key in result:
                self.duplicates.append((*_node_mark(key_node), f"duplicate key {key!r}"))
            result[key] = self.construct_object(value_node, deep=True)
            result.marks[key] = _node_mark(value_node)
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> YamlSeq:  # type: ignore[override]
        result = YamlSeq(self.construct_object(child, deep=True) for child in node.value)
        result.mark = _node_mark(node)
        result.marks = [_node_mark(child) for child in node.value]
        return result


Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, Loader.construct_mapping)
Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, Loader.construct_sequence)


class YamlSyntaxError(ValueError):
    """Text that is no YAML; ``problem`` is ``(line, column, message)``, 1-based (0, 0 when unknown)."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.problem = (line, column, message)


def load_marked(text: str) -> tuple[Any, Problems]:
    """The YAML document in ``text`` with marks (see :class:`Loader`), and the problems found so far (duplicate
    keys), which validation adds to.

    :raises YamlSyntaxError: at the line and column of a syntax error
    """
    loader = Loader(text)
    loader.duplicates = []
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise YamlSyntaxError(line, column, f"not valid YAML: {e.problem or e}") from e
    except yaml.YAMLError as e:
        raise YamlSyntaxError(0, 0, f"not valid YAML: {e}") from e
    finally:
        loader.dispose()
    problems = Problems()
    problems.items.extend(loader.duplicates)
    return doc, problems


T = TypeVar("T")
#: how a file kind reports its problems: ``error(file, [(line, column, message), ...])``
FileError = Callable[[str, list[tuple[int, int, str]]], Exception]


def build_marked(text: str, file: str, error: FileError, not_a_mapping: str,
                 build: Callable[[YamlMap, Problems], T | None]) -> T:
    """Read ``text`` as a YAML mapping and ``build`` the object it describes; a syntax error, a document that is
    no mapping (``not_a_mapping`` says what it should hold) or any problem ``build`` found raises ``error`` with
    every problem's line and column."""
    try:
        doc, problems = load_marked(text)
    except YamlSyntaxError as e:
        raise error(file, [e.problem]) from e
    if not isinstance(doc, YamlMap):
        raise error(file, [(1, 1, not_a_mapping)])
    built = build(doc, problems)
    if problems.items or built is None:
        raise error(file, problems.items)
    return built


class Problems:
    """Collects validation problems with their marks."""

    def __init__(self) -> None:
        self.items: list[tuple[int, int, str]] = []

    def add(self, mark: tuple[int, int], message: str) -> None:
        self.items.append((mark[0], mark[1], message))

    def check_keys(self, doc: YamlMap, allowed: Sequence[str], where: str, required: Sequence[str] = ()) -> None:
        """Report keys of ``doc`` not ``allowed`` and ``required`` ones missing."""
        for key in doc:
            if key not in allowed:
                self.add(mark_at(doc, key), f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in doc:
                self.add(doc.mark, f"{where}: {key!r} is required")


def mark_at(parent: Any, key: str | int, default: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    marks = getattr(parent, "marks", None)  # absent on mappings made up for missing keys
    if isinstance(parent, YamlMap) and isinstance(key, str) and marks is not None:
        return marks.get(key, parent.mark)  # type: ignore[no-any-return]
    if isinstance(parent, YamlSeq) and isinstance(key, int) and marks and 0 <= key < len(marks):
        return marks[key]  # type: ignore[no-any-return]
    return getattr(parent, "mark", default)  # type: ignore[no-any-return]

