"""API routers, one module per resource; ``ROUTERS`` is what the app mounts."""

from fastapi import APIRouter

from hub.api.routes import audit, auth, devices, events, health, stream, users

ROUTERS: list[APIRouter] = [health.router, auth.router, users.router, devices.router, events.router,
                            stream.router, audit.router]
from hub.api.routes import alerts, firmware, fleet_config, provisioning, rollouts, webhooks  # noqa: E402  fleet

ROUTERS += [provisioning.router, fleet_config.router, firmware.router, rollouts.router, alerts.router, webhooks.router]
from hub.api.routes import files, print_jobs, printers  # noqa: E402  print

ROUTERS += [print_jobs.router, printers.router, files.router]
from hub.api.routes import access, attendance, employees, recognition  # noqa: E402  face

ROUTERS += [employees.router, recognition.router, attendance.router, access.router]
from hub.api.routes import console, dashboard  # noqa: E402  console

ROUTERS += [dashboard.router, console.router]
