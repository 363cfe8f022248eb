"""Building many frozen entities fast, for the loaders.

The ``__init__`` that ``dataclass(frozen=True, slots=True)`` generates sets each field with
``object.__setattr__`` to get past the frozen check: 6 us for an ``Experiment`` (22 fields)
on the machines measured. A search that returns 100,000 experiments builds 100,000 of them,
so the loaders set the slots through their descriptors instead, which takes about half as
long and gives an identical object.

Example:
    >>> from mled.entities import User
    >>> frozen_builder(User)(1, "alice", False, False) == User(1, "alice", False, False)
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def frozen_builder(cls: type[T]) -> Callable[..., T]:
    """A constructor of ``cls`` (a frozen slots dataclass without ``__post_init__``) taking
    every field's value, positionally, in declaration order."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    if getattr(cls, "__slots__", None) != names or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} is not a slots dataclass without __post_init__")
    setters = tuple(getattr(cls, name).__set__ for name in names)
    new = object.__new__

    def build(*values: Any) -> T:
        if len(values) != len(setters):
            raise TypeError(f"{cls.__name__} takes {len(setters)} values, not {len(values)}")
        obj = new(cls)
        for set_value, value in zip(setters, values, strict=True):
            set_value(obj, value)
        return obj

    build.__name__ = f"build_{cls.__name__}"
    return build
