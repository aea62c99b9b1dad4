"""Webhooks for alerts: HMAC-signed POSTs with retries (see hub.services.fleet.webhooks)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from hub.api.deps import AdminUser, SessionDep, WebhooksDep
from hub.api.schemas.fleet import DeliveryPublic, WebhookCreate, WebhookCreated, WebhookPublic
from hub.api.schemas.types import Id
from hub.db.models.fleet import Webhook, WebhookDelivery
from hub.domain.webhook_targets import TargetRefused
from hub.services.audit import audit

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
def create(user: AdminUser, dispatcher: WebhooksDep, db: SessionDep, body: WebhookCreate) -> WebhookCreated:
    try:
        # Deliveries check again (a name may resolve elsewhere later); this catches mistakes now.
        dispatcher.check_target(str(body.url))
    except TargetRefused as exc:
        raise HTTPException(422, f"url: {exc}") from exc
    secret = body.secret or secrets.token_urlsafe(32)
    hook = Webhook(url=str(body.url), secret=secret, kinds=body.kinds, active=True, created_by=user.username)
    db.add(hook)
    db.flush()
    audit(db, actor=user.username, action="webhook.create", target_type="webhook", target_id=str(hook.id),
          detail={"url": hook.url, "kinds": hook.kinds})
    db.commit()
    return WebhookCreated(id=hook.id, url=hook.url, kinds=hook.kinds, active=hook.active,
                          created_at=hook.created_at, secret=secret)


@router.get("", response_model=list[WebhookPublic])
def list_hooks(_: AdminUser, db: SessionDep) -> list[Webhook]:
    return list(db.execute(select(Webhook).order_by(Webhook.id)).scalars())


@router.delete("/{hook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(user: AdminUser, db: SessionDep, hook_id: Id) -> None:
    hook = db.get(Webhook, hook_id)
    if hook is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no webhook {hook_id}")
    hook.active = False  # keep delivery history; stop sending
    audit(db, actor=user.username, action="webhook.disable", target_type="webhook", target_id=str(hook_id))
    db.commit()


@router.get("/{hook_id}/deliveries", response_model=list[DeliveryPublic])
def deliveries(_: AdminUser, db: SessionDep, hook_id: Id,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[WebhookDelivery]:
    return list(db.execute(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook_id)
                           .order_by(WebhookDelivery.id.desc()).limit(limit)).scalars())
