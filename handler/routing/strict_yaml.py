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
    """Where the parts of one loaded document were written, found from its root node (merge keys
    already flattened into the mappings that use them, aliases pointing at their anchors)."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def find(self, path: Sequence[str | int], *, key: bool = False) -> Place | None:
        """The place of the value at ``path`` (or of its key, with ``key``); else of the
        nearest enclosing value that has one."""
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
    if isinstance(node, yaml.MappingNode):
        # The last pair wins, as in the loaded mapping: a key's own value after merged ones.
        for key_node, value_node in reversed(_pairs(node)):
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                return key_node if key else value_node
    return None


def _pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
    return pairs


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


def _load(text: str, kind: type[_Recording]) -> tuple[Any, Places]:
    loader = kind(text)  # type: ignore[call-arg]
    try:
        return loader.get_single_data(), loader.places
    finally:
        loader.dispose()  # type: ignore[attr-defined]


class _Recording(yaml.constructor.SafeConstructor):
    """Keeps the document's root node (for Places), and refuses a key given twice in one
    mapping (PyYAML keeps the last).

    Keys brought in by a ``<<: *anchor`` merge may be overridden: that is what merging is for.
    """

    places = Places(None)

    def construct_document(self, node: yaml.Node) -> Any:  # noqa: ANN401 - whatever it holds
        self.places = Places(node)
        return super().construct_document(node)

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


class _StrictLoader(_Recording, yaml.SafeLoader):
    pass


# libyaml's parser, where PyYAML was built with it: a large routes file loads three times faster.
class _FastStrictLoader(_Recording, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass
