"""The runtime's sign-in throttle (``hub.auth.throttle``), built from the settings on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.auth.passwords import dummy_hash
from hub.auth.throttle import LoginThrottle

if TYPE_CHECKING:
    from hub.runtime import HubRuntime

SERVICE = "login_throttle"


def login_throttle(rt: HubRuntime) -> LoginThrottle:
    svc = rt.services.get(SERVICE)
    if not isinstance(svc, LoginThrottle):
        s = rt.settings
        svc = rt.services.setdefault(SERVICE, LoginThrottle(
            per_user=s.login_max_failures_per_user, per_address=s.login_max_failures_per_address,
            window_s=s.login_throttle_window_s))
    assert isinstance(svc, LoginThrottle)
    return svc


def setup(rt: HubRuntime) -> None:
    login_throttle(rt)
    dummy_hash()  # made now, so the first sign-in with an unknown name is not the slow one
