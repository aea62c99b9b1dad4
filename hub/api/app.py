"""The FastAPI application: its lifespan owns the hub runtime (MQTT ingest, workers, timers)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from hub.api.errors import install_error_handlers
from hub.api.limits import RequestLimitMiddleware, RequestLimits, form_rules
from hub.api.openapi import install_openapi
from hub.api.routes import CORE_ROUTERS
from hub.auth.passwords import hash_password
from hub.auth.tokens import Role
from hub.db.models.core import User
from hub.db.session import transaction
from hub.feature import Feature
from hub.features import FEATURES
from hub.runtime import HubRuntime, build_runtime
from hub.services.face.service import FACE
from hub.settings import Settings

log = logging.getLogger(__name__)


def warm_face_engine(rt: HubRuntime) -> None:
    """Start the face workers now (in the background) so the first check-in is not the slow one."""
    face = rt.services.find(FACE)
    if face is not None:
        face.engine.pool.warm_in_background()


def ensure_admin(rt: HubRuntime) -> bool:
    """Create the ``admin`` user once, from OFFICEHUB_ADMIN_PASSWORD (generated in demo mode)."""
    if rt.settings.admin_password is None:
        return False
    with transaction(rt.sessions) as session:
        if session.execute(select(User.id).where(User.username == "admin")).first():
            return False
        session.add(User(username="admin", role=Role.ADMIN.value, full_name="Administrator", active=True,
                         password_hash=hash_password(rt.settings.admin_password.get_secret_value())))
    return True


def create_app(settings: Settings | None = None, *, runtime: HubRuntime | None = None,
               features: tuple[Feature, ...] = FEATURES) -> FastAPI:
    """Build the app. Pass ``runtime`` to share one already built (tests, demo; its features are
    served); else one with ``features`` is built and started by the lifespan from ``settings``."""
    cfg = runtime.settings if runtime is not None else (settings or Settings())
    served = runtime.features if runtime is not None else features

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = runtime is None
        rt = runtime if runtime is not None else await run_in_threadpool(lambda: build_runtime(cfg, features=served))
        app.state.runtime = rt
        await run_in_threadpool(ensure_admin, rt)
        if own:
            rt.start()
            warm_face_engine(rt)
        try:
            yield
        finally:
            if own:
                await run_in_threadpool(rt.stop)

    rules = form_rules(cfg)
    # Starlette's own form limits as a backstop (url-encoded forms); multipart forms meet the same
    # rules earlier, in RequestLimitMiddleware, with a 413/422 that names the setting.
    app = FastAPI(title="OfficeHub", version="0.1.0", lifespan=lifespan,
                  description="Smart-office device hub: face check-in, cloud print, device fleet.",
                  form_limits={"max_fields": rules.max_fields, "max_files": rules.max_files,
                               "max_part_size": rules.max_field_bytes})
    if runtime is not None:
        app.state.runtime = runtime

    install_error_handlers(app)

    routers = [*CORE_ROUTERS, *(r for feature in served for r in feature.routers)]
    for router in routers:
        app.include_router(router)
    paths = [getattr(route, "path", "") for router in routers for route in router.routes]
    app.add_middleware(RequestLimitMiddleware, limits=RequestLimits.from_settings(cfg, route_paths=paths))
    install_openapi(app)
    return app
