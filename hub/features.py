"""The hub's features, listed once: what each sets up, the routes it serves, its demo data.

To add a feature, add one ``Feature`` here (docs/CONTRIBUTING.md, "How to add a feature"). The core
routes (health, auth, users, devices, events, stream, audit, alerts) are in ``hub.api.routes``.
Order matters only for setup: a feature that finds another's service at setup time comes after it.
"""

from __future__ import annotations

from hub.api.routes import (
    access,
    attendance,
    console,
    dashboard,
    employees,
    files,
    firmware,
    fleet_config,
    print_jobs,
    printers,
    provisioning,
    recognition,
    rollouts,
    webhooks,
)
from hub.feature import Feature
from hub.services import auth_audit, login_throttle
from hub.services.context import FeatureContext
from hub.services.face.demo import seed_face_demo
from hub.services.face.setup import setup as face_setup
from hub.services.fleet.setup import setup as fleet_setup
from hub.services.printing.setup import setup as print_setup


def _auth_setup(ctx: FeatureContext) -> None:
    auth_audit.setup(ctx)
    login_throttle.setup(ctx)


FEATURES: tuple[Feature, ...] = (
    Feature(name="auth", setup=_auth_setup),
    Feature(name="fleet", setup=fleet_setup,
            routers=(provisioning.router, fleet_config.router, firmware.router, rollouts.router, webhooks.router)),
    Feature(name="print", setup=print_setup, routers=(print_jobs.router, printers.router, files.router)),
    Feature(name="face", setup=face_setup,
            routers=(employees.router, recognition.router, attendance.router, access.router),
            demo_seed=seed_face_demo),
    Feature(name="console", routers=(dashboard.router, console.router)),
)
