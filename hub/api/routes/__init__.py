"""API routers, one module per resource. ``CORE_ROUTERS`` serve what every hub has; each feature's
routers are listed with it in ``hub.features``."""

from fastapi import APIRouter

from hub.api.routes import alerts, audit, auth, devices, events, health, stream, users

CORE_ROUTERS: tuple[APIRouter, ...] = (health.router, auth.router, users.router, devices.router, events.router,
                                       stream.router, audit.router, alerts.router)
