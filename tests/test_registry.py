"""The one registry behind model kinds, metrics, datasets and architectures."""

from __future__ import annotations

import pytest

from disentangle.errors import UserError
from disentangle.registry import Registry


def test_a_registry_keeps_order_refuses_a_taken_name_and_names_the_choices():
    shapes = Registry("shape", unknown="unknown shape {key!r}: {names} / {sorted_names}")
    shapes.register("square", 4)
    shapes.register("circle", 0)
    assert list(shapes) == ["square", "circle"] and shapes["circle"] == 0
    assert shapes.register("square", 4) == 4   # the same entry again changes nothing
    with pytest.raises(ValueError, match="a shape 'square' is already registered"):
        shapes.register("square", 5)
    shapes.register("square", 5, replace=True)
    assert dict(shapes) == {"square": 5, "circle": 0}
    with pytest.raises(UserError, match=r"unknown shape 'cube': square, circle / circle, square"):
        shapes.lookup("cube")
    with pytest.raises(UserError, match="unknown shape"):
        shapes.lookup(["unhashable"])
    shapes.unregister("circle")
    assert shapes.get("circle") is None and len(shapes) == 1
