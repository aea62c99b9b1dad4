"""Exponential reconnect backoff with jitter, so a fleet does not reconnect in lock-step."""

from __future__ import annotations

import random


class Backoff:
    """Delays grow ``initial * factor**n`` up to ``maximum``; each is then shortened by a random
    share of up to ``jitter`` (0 = none, 1 = "full jitter")."""

    def __init__(self, *, initial: float = 0.5, maximum: float = 30.0, factor: float = 2.0,
                 jitter: float = 0.5, rng: random.Random | None = None) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("need 0 < initial <= maximum")
        if factor < 1:
            raise ValueError("factor must be >= 1")
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be within 0..1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._attempt = 0

    @property
    def attempt(self) -> int:
        return self._attempt

    def ceiling(self) -> float:
        """The un-jittered delay for the next attempt."""
        return min(self.maximum, self.initial * self.factor ** min(self._attempt, 64))

    def next(self) -> float:
        ceiling = self.ceiling()
        self._attempt += 1
        return ceiling * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        self._attempt = 0
