"""YAML as routes files are read: safe types only, no key given twice, libyaml's speed where
PyYAML was built with it and PyYAML's own wording when something is wrong."""

from __future__ import annotations

from typing import Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlError(ValueError):
    """Unreadable YAML; the message says where (``line 3, column 4: ``) and what."""


def load_yaml(text: str) -> Any:  # noqa: ANN401 - whatever the YAML holds
    try:
        try:
            return yaml.load(text, Loader=_FastStrictLoader)  # noqa: S506 - SafeLoader's kind
        except yaml.YAMLError:
            # libyaml words its errors more tersely: let PyYAML's parser say what is wrong.
            return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = error.problem or error.context or "unreadable YAML"
        raise YamlError(f"{where}not valid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise YamlError(f"not valid YAML: {error}") from None


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
class _FastStrictLoader(_NoRepeatedKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass
