"""The hub's sign-in throttle (``hub.auth.throttle``), built from the settings by the ``auth`` feature."""

from __future__ import annotations

from hub.auth.passwords import dummy_hash
from hub.auth.throttle import LoginThrottle
from hub.services.context import FeatureContext
from hub.services.keys import ServiceKey, Services

LOGIN_THROTTLE: ServiceKey[LoginThrottle] = ServiceKey("login_throttle")


def login_throttle(services: Services) -> LoginThrottle:
    return services.get(LOGIN_THROTTLE)


def setup(ctx: FeatureContext) -> None:
    s = ctx.settings
    ctx.services.set(LOGIN_THROTTLE, LoginThrottle(per_user=s.login_max_failures_per_user,
                                                   per_address=s.login_max_failures_per_address,
                                                   window_s=s.login_throttle_window_s))
    dummy_hash()  # made now, so the first sign-in with an unknown name is not the slow one
