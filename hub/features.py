"""Feature wiring: each feature's setup registers its handlers and services on the runtime.

Add a feature by appending its ``setup(rt)`` here; its routes go in ``hub/api/routes``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hub.services.fleet.setup import setup as fleet_setup

if TYPE_CHECKING:
    from hub.runtime import HubRuntime

FEATURES: list[Callable[[HubRuntime], None]] = [fleet_setup]

from hub.services.printing.setup import setup as print_setup  # noqa: E402

FEATURES.append(print_setup)
from hub.services.face.setup import setup as face_setup  # noqa: E402

FEATURES += [face_setup]
from hub.services.auth_audit import setup as auth_audit_setup  # noqa: E402

FEATURES.append(auth_audit_setup)
from hub.services.login_throttle import setup as login_throttle_setup  # noqa: E402

FEATURES.append(login_throttle_setup)
