"""Wires the fleet feature (``hub.features``): provisioning, config, firmware, rollouts, webhooks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from hub.db.session import transaction
from hub.domain.failure_limit import FailureLimiter
from hub.domain.webhook_targets import AllowList
from hub.ingest.handlers import StoredEvent
from hub.security.firmware_signing import load_or_create_private_key
from hub.services.audit import audit
from hub.services.auth_audit import note_denied
from hub.services.context import FeatureContext
from hub.services.fleet.accounts import BrokerAccounts, BrokerSecurityError, DynsecAccounts, accounts_for
from hub.services.fleet.config import ConfigService
from hub.services.fleet.firmware import FirmwareService
from hub.services.fleet.provisioning import ProvisioningService
from hub.services.fleet.rollouts import RolloutDriver
from hub.services.fleet.watchers import Watchers
from hub.services.fleet.webhooks import WEBHOOKS, WebhookDispatcher
from hub.services.keys import ServiceKey
from hub.tls import device_ca_pem
from protocol.bodies_door import DoorEvent
from protocol.bodies_fleet import ConfigAppliedEvent, FirmwareEvent
from protocol.events import AlarmEvent

log = logging.getLogger(__name__)

CLAIM_REFUSED = "provisioning.claim_refused"


@dataclass
class Fleet:
    """What fleet routes reach through ``FleetDep`` (``services.get(FLEET)``)."""

    accounts: BrokerAccounts
    provisioning: ProvisioningService
    config: ConfigService
    firmware: FirmwareService
    rollouts: RolloutDriver
    webhooks: WebhookDispatcher
    watchers: Watchers
    device_broker_url: str
    device_ca_pem: str | None = None  # handed out with every claim (devices/runtime/claim.py)


FLEET: ServiceKey[Fleet] = ServiceKey("fleet")


def setup(ctx: FeatureContext) -> None:
    st = ctx.settings
    accounts = accounts_for(st, ctx.broker_url)
    if isinstance(accounts, DynsecAccounts) and st.broker_username and st.broker_password is not None:
        # Before the ingest client connects: without the hub role its acks, commands and answers
        # are dropped by the broker (a dynsec admin may subscribe but not publish).
        try:
            accounts.ensure_hub_account(st.broker_username, st.broker_password.get_secret_value())
        except BrokerSecurityError as exc:
            log.error("could not give the hub's broker account %r its rights (acks and commands will be "
                      "refused by the broker until it has them): %s", st.broker_username, exc)
    device_broker_url = st.device_broker_url or ctx.broker_url
    key = load_or_create_private_key(st.firmware_signing_key or st.data_dir / "firmware-signing.pem")
    firmware = FirmwareService(sessions=ctx.sessions, key=key, store=st.data_dir / "firmware", base_url=st.base_url,
                               secret=st.secret(), url_ttl_s=st.firmware_url_ttl_s)
    webhooks = WebhookDispatcher(sessions=ctx.sessions, timeout_s=st.webhook_timeout_s,
                                 max_attempts=st.webhook_max_attempts, retry_base_s=st.webhook_retry_base_s,
                                 allow=AllowList.parse(st.webhook_allowed_hosts), concurrency=st.webhook_concurrency)

    def claim_refused(source: str | None, reason: str, device_id: str | None) -> None:
        # One audit entry per address and window with a count, not one per refusal: claims are
        # unauthenticated, and a retry loop must not be able to fill the audit table.
        note_denied(ctx.services, action=CLAIM_REFUSED, source=source, reason=reason, username=device_id)

    provisioning = ProvisioningService(
        sessions=ctx.sessions, accounts=accounts, device_broker_url=device_broker_url, publish=ctx.publish,
        reserved_ids=(st.hub_client_id, st.broker_username, st.broker_admin_username),
        limiter=FailureLimiter(per_key=st.claim_failures_per_source, global_limit=st.claim_failures_global,
                               window_s=st.claim_failure_window_s),
        on_refused=claim_refused)
    fleet = Fleet(accounts=accounts, provisioning=provisioning,
                  config=ConfigService(sessions=ctx.sessions, commands=ctx.commands,
                                       resend_after_s=st.config_reconcile_s),
                  firmware=firmware, rollouts=RolloutDriver(ctx, firmware), webhooks=webhooks, watchers=Watchers(ctx),
                  device_broker_url=device_broker_url, device_ca_pem=device_ca_pem(st))
    ctx.services.set(FLEET, fleet)
    ctx.services.set(WEBHOOKS, webhooks)
    def alert_to_webhooks(event: str, alert: dict[str, Any]) -> None:
        # Alerts (any feature's) reach the webhooks subscribed to their kind.
        webhooks.enqueue(event, alert, kind=str(alert["kind"]))

    ctx.alerts.on_change(alert_to_webhooks)

    def on_config_applied(ev: StoredEvent, body: ConfigAppliedEvent) -> None:
        with transaction(ctx.sessions) as s:
            audit(s, actor=f"device:{ev.device_id}", action="config.applied" if body.ok else "config.failed",
                  target_type="device", target_id=ev.device_id, detail=dict(ev.data))

    ctx.registry.on_event(FirmwareEvent, fleet.rollouts.on_firmware_event)
    ctx.registry.on_event(ConfigAppliedEvent, on_config_applied)
    ctx.registry.on_event(DoorEvent, fleet.watchers.on_door_event)
    ctx.registry.on_event(AlarmEvent, fleet.watchers.on_alarm_event)
    ctx.registry.on_device_change(fleet.watchers.on_device_change)
    ctx.registry.on_device_refusal(fleet.watchers.on_device_refusal)
    ctx.timers.every(st.config_reconcile_s, fleet.config.reconcile, name="fleet-config-reconcile")
    ctx.timers.every(st.rollout_tick_s, fleet.rollouts.tick, name="fleet-rollouts")
    ctx.timers.every(min(30.0, max(1.0, st.alert_offline_after_s / 4)), fleet.watchers.offline_check,
                    name="fleet-offline-alerts")
    ctx.timers.every(5, fleet.watchers.printer_check, name="fleet-printer-alerts")
    webhooks.start()
    ctx.on_stop(webhooks.stop)
    ctx.on_stop(accounts.close)

