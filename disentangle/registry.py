"""The one way this project registers named things: model kinds, metrics, datasets and
architectures are each a ``Registry``, so adding one is a ``register`` call and every part of
the project that lists them (``--help``, error messages, tables, reports) reads the same order.

>>> SHAPES = Registry("shape", unknown="unknown shape {key!r}: choose one of {names}")
>>> square = SHAPES.register("square", 4)
>>> SHAPES.lookup("circle")   # UserError: unknown shape 'circle': choose one of square

A registry is a read-only mapping from name to entry (``in``, ``[]``, ``get``, ``items``, ...)
that iterates in registration order; reports and tables depend on that order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from disentangle.errors import UserError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Named entries of one sort, in registration order.

    ``what`` names the sort in the error for a second registration under a taken name;
    ``unknown`` is the one-line ``UserError`` for a name nobody registered, a ``str.format``
    template with ``key`` (the name asked for), ``names`` (the registered names in order) and
    ``sorted_names`` (the same, sorted).
    """

    def __init__(self, what: str, unknown: str):
        self.what = what
        self.unknown = unknown
        self._entries: dict[str, T] = {}

    def register(self, key: str, entry: T, replace: bool = False) -> T:
        """Add ``entry`` as ``key``; returns it. A different entry under a taken name is refused
        unless ``replace`` (e.g. a worker receiving the driver's definitions); registering the
        same entry again changes nothing."""
        if key in self._entries and not replace and self._entries[key] != entry:
            raise ValueError(f"a {self.what} {key!r} is already registered")
        self._entries[key] = entry
        return entry

    def unregister(self, key: str) -> None:
        """Remove ``key`` (a test's temporary entry)."""
        del self._entries[key]

    def lookup(self, key: str) -> T:
        """The entry ``key``, or the registry's one-line ``UserError`` naming the choices."""
        try:
            return self._entries[key]
        except (KeyError, TypeError):
            raise UserError(self.unknown.format(
                key=key, names=", ".join(self._entries),
                sorted_names=", ".join(sorted(self._entries)))) from None

    def __getitem__(self, key: str) -> T:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}: {', '.join(self._entries)})"
