"""Typed service lookup: each feature publishes its service under a ``ServiceKey[T]`` it owns.

Like Home Assistant's ``HassKey[T]``: the key carries the service's type, so ``services.get(FACE)``
is a ``FaceService`` to mypy and to the reader, and a missing feature fails with a message that
names it instead of a ``KeyError`` on a string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


class ServiceKey(Generic[T]):
    """The name under which one feature's service is found; compare by identity."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ServiceKey({self.name!r})"


class FeatureMissing(LookupError):
    """The feature that provides a service is not set up on this hub."""


class Services:
    """The services the set-up features publish, by key."""

    def __init__(self) -> None:
        self._items: dict[ServiceKey[object], object] = {}

    def set(self, key: ServiceKey[T], value: T) -> None:
        self._items[cast(ServiceKey[object], key)] = value

    def get(self, key: ServiceKey[T]) -> T:
        """The service under ``key``; raises ``FeatureMissing`` when no feature set it."""
        try:
            return cast(T, self._items[cast(ServiceKey[object], key)])
        except KeyError:
            raise FeatureMissing(f"the {key.name} feature is not set up on this hub") from None

    def find(self, key: ServiceKey[T]) -> T | None:
        """The service under ``key``, or None: for optional collaborations (print uses face if present)."""
        return cast(T | None, self._items.get(cast(ServiceKey[object], key)))

    def get_or_set(self, key: ServiceKey[T], make: Callable[[], T]) -> T:
        """The service under ``key``, made and stored on first use."""
        if cast(ServiceKey[object], key) not in self._items:
            self.set(key, make())
        return self.get(key)

    def __contains__(self, key: ServiceKey[T]) -> bool:
        return cast(ServiceKey[object], key) in self._items
