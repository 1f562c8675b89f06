"""The ``--set`` language: one ``dotted.key=value`` changes one entry of a study's definition.

Keys are dotted (``training.lr``), list positions are numbers (``variants.1.beta``), values are
JSON or Python literals (``3e-4``, ``[2, 8]``, ``null``, ``None``) or else plain text
(``beta_vae``). A key the preset does not have is refused, except in the sections whose keys are
open (``OPEN_SECTIONS``) and inside a variant.
"""

from __future__ import annotations

import ast
import json

from disentangle.errors import UserError

# Dicts whose keys are not fixed by the preset layout; study.validation checks each by its rule.
OPEN_SECTIONS = ("dataset", "training", "metrics.fast", "metrics.paper", "search")


def parse_value(text: str):
    """A ``--set`` value: JSON (``3e-4``, ``[1, 2]``, ``null``, ``true``), a Python literal
    (``None``, ``(1, 2)``), else the text itself (``beta_vae``)."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError):
            continue
    return text


def apply_assignment(definition: dict, assignment: str) -> None:
    """Apply one ``dotted.key=value`` to ``definition`` in place; list positions are numbers."""
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set {assignment!r} is not key=value: write e.g. --set training.lr=3e-4")
    parts = key.strip().split(".")
    node = definition
    for depth, part in enumerate(parts[:-1]):
        node = _child(node, part, ".".join(parts[:depth + 1]))
    last, path = parts[-1], key.strip()
    if isinstance(node, list):
        node[_list_position(node, last, path)] = parse_value(text)
        return
    if not isinstance(node, dict):
        raise UserError(f"--set {path}: {'.'.join(parts[:-1])} is a value, not a section")
    if last not in node and not _is_open(parts[:-1]):
        raise UserError(f"unknown setting {path!r}: known keys there are "
                        f"{', '.join(sorted(node))}")
    node[last] = parse_value(text)


def _child(node, part: str, path: str):
    if isinstance(node, list):
        return node[_list_position(node, part, path)]
    if isinstance(node, dict) and part in node:
        if node[part] is None:
            node[part] = {}
        return node[part]
    known = ", ".join(sorted(node)) if isinstance(node, dict) else "none (a value)"
    raise UserError(f"unknown setting {path!r}: known keys there are {known}")


def _list_position(node: list, part: str, path: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise UserError(f"--set {path}: {part!r} is not a position of this list "
                        f"(0..{len(node) - 1})")
    return int(part)


def _is_open(parents: list[str]) -> bool:
    """Whether keys may be added under ``parents`` (variant entries and the open sections)."""
    path = ".".join(parents)
    return path in OPEN_SECTIONS or (len(parents) == 2 and parents[0] == "variants")
