"""YAML with line numbers: a SafeLoader whose mappings and lists remember where each key and item was written.

PyYAML forgets positions once it has built Python objects; validation needs them to say "profile.yaml:14:
unknown strategy". Mappings become ``LocatedDict`` (the line of the mapping and of each key) and lists
``LocatedList`` (the line of each item). Scalars stay plain: a bad value is reported at its key's line.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode


class LocatedDict(dict[str, Any]):
    """A YAML mapping with the 1-based line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """The line of ``key`` (or of the mapping when the key is absent)."""
        return self.key_lines.get(key, self.line)


class LocatedList(list[Any]):
    """A YAML sequence with the 1-based line of itself and of each item."""

    line: int = 0
    item_lines: list[int]


class DuplicateKey(yaml.YAMLError):
    """A key written twice in one mapping (PyYAML would silently keep the last)."""

    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"key {key!r} is written twice")
        self.key = key
        self.line = line


class LineLoader(yaml.SafeLoader):
    """SafeLoader (no arbitrary objects) that records node marks on mappings and sequences."""


def _construct_mapping(loader: yaml.SafeLoader, node: MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    data = LocatedDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        text = str(key)
        if text in data:
            raise DuplicateKey(text, key_node.start_mark.line + 1)
        data[text] = loader.construct_object(value_node, deep=True)  # type: ignore[no-untyped-call]
        data.key_lines[text] = key_node.start_mark.line + 1
    return data


def _construct_sequence(loader: yaml.SafeLoader, node: SequenceNode) -> LocatedList:
    data = LocatedList()
    data.line = node.start_mark.line + 1
    data.item_lines = []
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))  # type: ignore[no-untyped-call]
        data.item_lines.append(item.start_mark.line + 1)
    return data


LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_located(text: str) -> Any:
    """Parse YAML text into plain values, ``LocatedDict`` and ``LocatedList`` (raises ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=LineLoader)  # LineLoader is a SafeLoader
