"""``Feature``: one area of the hub (fleet, print, face, …) as the hub wires it, listed in ``hub.features``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter

from hub.services.context import FeatureContext


@dataclass(frozen=True, kw_only=True)
class Feature:
    name: str
    # Registers handlers and timers, publishes the feature's service (``ctx.services.set(KEY, svc)``) and
    # its stop hooks (``ctx.on_stop(fn)``). Runs once per hub, in ``FEATURES`` order, before start.
    setup: Callable[[FeatureContext], None] | None = None
    routers: tuple[APIRouter, ...] = ()
    # `officehub demo` only: adds demo data after every feature is set up.
    demo_seed: Callable[[FeatureContext], None] | None = None
