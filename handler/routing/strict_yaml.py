"""YAML as routes files are read: safe types only, no key given twice, libyaml's speed where
PyYAML was built with it, PyYAML's own wording when something is wrong, and where in the text
each mapping, key and list item was written (for error messages)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"

# A place in the text: 1-based line and column.
Place = tuple[int, int]


class YamlError(ValueError):
    """Unreadable YAML; ``place`` says where (when known), the message what."""

    def __init__(self, message: str, place: Place | None = None) -> None:
        super().__init__(message)
        self.place = place


class Places:
    """Where the parts of one document were written: composed again from its text when first
    asked (only a file with errors is), so that a valid file's nodes need not be kept."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._root: yaml.Node | None = None

    def find(self, path: Sequence[str | int], *, key: bool = False) -> Place | None:
        """The place of the value at ``path`` (or of its key, with ``key``); else of the
        nearest enclosing value that has one."""
        if self._root is None:
            try:
                self._root = yaml.compose(self._text, Loader=_FAST_LOADER)
            except yaml.YAMLError:
                return None
        node = self._root
        if node is None:
            return None
        found = _place(node)
        for depth, step in enumerate(path, 1):
            child = _child(node, step, key=key and depth == len(path))
            if child is None:
                break
            node, found = child, _place(child)
        return found


def _child(node: yaml.Node, step: str | int, *, key: bool) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        return node.value[step] if 0 <= step < len(node.value) else None
    if not isinstance(node, yaml.MappingNode):
        return None
    merged: list[yaml.Node] = []
    # The last pair wins, as in the loaded mapping.
    for key_node, value_node in reversed(node.value):
        if key_node.tag == _MERGE_TAG:
            # <<: *anchor or <<: [*a, *b]: keys the mapping does not give itself come from
            # there, the first mapping listed first.
            merged += (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
        elif isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
            return key_node if key else value_node
    for source in merged:
        found = _child(source, step, key=key)
        if found is not None:
            return found
    return None


def _place(node: yaml.Node) -> Place:
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_yaml(text: str) -> tuple[Any, Places]:
    """The document ``text`` holds, and where its parts were written."""
    try:
        try:
            return _load(text, _FastStrictLoader)
        except yaml.YAMLError:
            # libyaml words its errors more tersely: let PyYAML's parser say what is wrong.
            return _load(text, _StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        place = (mark.line + 1, mark.column + 1) if mark else None
        problem = error.problem or error.context or "unreadable YAML"
        raise YamlError(f"not valid YAML: {problem}", place) from None
    except yaml.YAMLError as error:
        raise YamlError(f"not valid YAML: {error}") from None


def _load(text: str, kind: type[yaml.SafeLoader]) -> tuple[Any, Places]:
    return yaml.load(text, Loader=kind), Places(text)  # noqa: S506 - SafeLoader's kind


class _NoRepeatedKeys(yaml.constructor.SafeConstructor):
    """Refuses a key given twice in one mapping (PyYAML keeps the last).

    Keys brought in by a ``<<: *anchor`` merge may be overridden: that is what merging is for.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:
                continue  # an unhashable key: the base class reports it with its position
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None, None, f'the key "{key}" appears twice in one mapping', key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _StrictLoader(_NoRepeatedKeys, yaml.SafeLoader):
    pass


# libyaml's parser, where PyYAML was built with it: a large routes file loads three times faster.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastStrictLoader(_NoRepeatedKeys, _FAST_LOADER):  # type: ignore[misc,valid-type]
    pass
