"""Desired vs reported device config: layers (site → group → device), versions, drift, reconciliation.

The desired config of a device is the merge of its layers; every change bumps its version and sends
``apply_config``. A timer re-sends the desired config to online devices whose reported config
(retained ``state``) differs from it, so a value changed locally on a device is put back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models.core import Device, DeviceCommand
from hub.db.models.fleet import ConfigLayerRow, FleetDevice
from hub.db.session import SessionFactory, transaction
from hub.domain.device_config import (
    ConfigError,
    ConfigLayer,
    check_version,
    drift,
    effective_config,
    validate_layer,
)
from hub.services.audit import audit
from hub.services.commands import CommandService
from hub.services.errors import ServiceError
from hub.services.fleet.provisioning import ensure_fleet_row

log = logging.getLogger(__name__)

SITE = "site"
GROUP = "group"


class ConfigRefused(ServiceError, ValueError):
    def __init__(self, message: str, *, status: int = 422, issues: list[str] | None = None) -> None:
        super().__init__(message, status=status)
        self.issues = issues or []

    @property
    def detail(self) -> Any:
        # The console lists each issue (layer → key: problem) under the message.
        return str(self) if not self.issues else {"message": str(self), "issues": self.issues}


def _layer(s: Session, scope: str, name: str, kind: str) -> dict[str, Any]:
    row = s.execute(select(ConfigLayerRow).where(ConfigLayerRow.scope == scope, ConfigLayerRow.name == name,
                                                 ConfigLayerRow.kind == kind)).scalar_one_or_none()
    return dict(row.values) if row else {}


def _layers(s: Session, kind: str, group: str | None, overrides: dict[str, Any]) -> list[ConfigLayer]:
    layers = [ConfigLayer("site", _layer(s, SITE, "default", kind))]
    if group:
        layers.append(ConfigLayer(f"group:{group}", _layer(s, GROUP, group, kind)))
    layers.append(ConfigLayer("device", overrides))
    return layers


def desired_config(s: Session, device_id: str) -> dict[str, Any]:
    """The config the hub wants ``device_id`` to run: its desired values as last computed (what
    ``apply_config`` sends), or before that the merge of its layers; {} for an unknown device or
    kind. Never the device's own report: hub-side decisions (e.g. the thin-mode match threshold)
    must not be steerable by the device."""
    dev = s.get(Device, device_id)
    if dev is None or not dev.kind:
        return {}
    fleet = s.get(FleetDevice, device_id)
    if fleet is not None and fleet.config_version:
        return dict(fleet.desired_config)
    try:
        return effective_config(_layers(s, dev.kind, fleet.group if fleet else None,
                                        dict(fleet.config_overrides) if fleet else {}), kind=dev.kind)
    except ConfigError as exc:
        log.warning("no usable desired config for %s: %s", device_id, exc)
        return {}


def _reported(dev: Device) -> dict[str, Any]:
    cfg = (dev.reported_state or {}).get("config")
    return dict(cfg) if isinstance(cfg, dict) else {}


class ConfigService:
    def __init__(self, *, sessions: SessionFactory, commands: CommandService, resend_after_s: float) -> None:
        self.sessions = sessions
        self.commands = commands
        self.resend_after_s = resend_after_s

    # --- views --------------------------------------------------------------------------------

    def view(self, device_id: str) -> dict[str, Any]:
        with transaction(self.sessions) as s:
            dev, fleet = self._device(s, device_id)
            desired = dict(fleet.desired_config) if fleet.config_version else {}
            reported = _reported(dev)
            diff = drift(desired, reported) if fleet.config_version else {}
            layers = [{"layer": layer.name, "values": dict(layer.values)}
                      for layer in _layers(s, str(dev.kind), fleet.group, dict(fleet.config_overrides))]
            return {"device_id": device_id, "kind": dev.kind, "version": fleet.config_version,
                    "desired": desired, "reported": reported, "reported_version": dev.reported_config_version,
                    "in_sync": not diff and dev.reported_config_version == fleet.config_version,
                    "drift": {k: {"desired": d, "reported": r} for k, (d, r) in diff.items()},
                    "overrides": dict(fleet.config_overrides), "layers": layers}

    def _device(self, s: Session, device_id: str) -> tuple[Device, FleetDevice]:
        dev = s.get(Device, device_id)
        if dev is None or dev.revoked:
            raise ConfigRefused(f"no device {device_id!r}", status=404)
        if not dev.kind:
            raise ConfigRefused(f"device {device_id} has not reported its kind yet", status=409)
        return dev, ensure_fleet_row(s, device_id)

    # --- changes ------------------------------------------------------------------------------

    def patch_device(self, device_id: str, values: dict[str, Any], *, expected_version: int | None,
                     actor: str) -> dict[str, Any]:
        """Merge ``values`` into the device layer (``None`` removes a key) and push the result."""
        with self.sessions() as s:
            dev, fleet = self._device(s, device_id)
            kind = str(dev.kind)
            try:
                check_version(expected=expected_version, actual=fleet.config_version)
            except Exception as exc:
                self._refusal(s, actor, device_id, str(exc), values)
                raise ConfigRefused(str(exc), status=409) from exc
            merged = {**fleet.config_overrides, **values}
            merged = {k: v for k, v in merged.items() if v is not None}
            try:
                validate_layer({k: v for k, v in values.items() if v is not None}, kind=kind, layer="device")
                effective_config(_layers(s, kind, fleet.group, merged), kind=kind)
            except ConfigError as exc:
                self._refusal(s, actor, device_id, str(exc), values)
                raise ConfigRefused(str(exc), issues=[str(i) for i in exc.issues]) from exc
            fleet.config_overrides = merged
            audit(s, actor=actor, action="config.update", target_type="device", target_id=device_id,
                  detail={"values": values, "based_on": fleet.config_version})
            s.commit()
        self.recompute([device_id], actor=actor)
        return self.view(device_id)

    def set_layer(self, *, scope: str, name: str, kind: str, values: dict[str, Any], actor: str) -> list[str]:
        """Replace a site or group layer; devices whose desired config changed get it pushed."""
        if scope not in (SITE, GROUP):
            raise ConfigRefused(f"scope must be {SITE!r} or {GROUP!r}")
        label = "site" if scope == SITE else f"group:{name}"
        try:
            clean = validate_layer(values, kind=kind, layer=label)
        except ConfigError as exc:
            with self.sessions() as s:
                self._refusal(s, actor, f"{label}/{kind}", str(exc), values)
            raise ConfigRefused(str(exc), issues=[str(i) for i in exc.issues]) from exc
        with transaction(self.sessions) as s:
            row = s.execute(select(ConfigLayerRow).where(ConfigLayerRow.scope == scope, ConfigLayerRow.name == name,
                                                         ConfigLayerRow.kind == kind)).scalar_one_or_none()
            if row is None:
                row = ConfigLayerRow(scope=scope, name=name, kind=kind, values=clean)
                s.add(row)
            row.values, row.updated_at = clean, datetime.now(UTC)
            audit(s, actor=actor, action="config.layer", target_type="config_layer", target_id=f"{label}/{kind}",
                  detail={"values": clean})
            q = select(Device.id).where(Device.kind == kind, Device.revoked.is_(False))
            if scope == GROUP:
                q = q.join(FleetDevice, FleetDevice.device_id == Device.id).where(FleetDevice.group == name)
            ids = list(s.execute(q).scalars())
        return self.recompute(ids, actor=actor)

    def layer(self, *, scope: str, name: str, kind: str) -> dict[str, Any]:
        with self.sessions() as s:
            return _layer(s, scope, name, kind)

    def recompute(self, device_ids: list[str], *, actor: str) -> list[str]:
        """Recompute desired configs; bump versions and send ``apply_config`` where they changed."""
        changed: list[tuple[str, int, dict[str, Any]]] = []
        with transaction(self.sessions) as s:
            for device_id in device_ids:
                dev = s.get(Device, device_id)
                if dev is None or dev.revoked or not dev.kind:
                    continue
                fleet = ensure_fleet_row(s, device_id)
                try:
                    values = effective_config(_layers(s, dev.kind, fleet.group, dict(fleet.config_overrides)),
                                              kind=dev.kind)
                except ConfigError as exc:
                    log.warning("config for %s is invalid after a layer change: %s", device_id, exc)
                    continue
                if fleet.config_version and values == fleet.desired_config:
                    continue
                fleet.desired_config, fleet.config_version = values, fleet.config_version + 1
                fleet.config_sent_at = datetime.now(UTC)
                changed.append((device_id, fleet.config_version, values))
        for device_id, version, values in changed:
            self._send(device_id, version, values, actor=actor)
        return [c[0] for c in changed]

    def _send(self, device_id: str, version: int, values: dict[str, Any], *, actor: str) -> None:
        self.commands.send(device_id=device_id, name="apply_config", args={"version": version, "config": values},
                           ttl_s=max(self.resend_after_s * 4, 120), ack_timeout_s=30, created_by=actor)

    def _refusal(self, s: Session, actor: str, target: str, message: str, values: dict[str, Any]) -> None:
        s.rollback()
        audit(s, actor=actor, action="config.refused", target_type="device", target_id=target,
              detail={"reason": message, "values": values})
        s.commit()

    # --- reconciliation -----------------------------------------------------------------------

    def reconcile(self, now: datetime | None = None) -> list[str]:
        """Re-send desired config to online devices that report something else (timer job)."""
        now = now or datetime.now(UTC)
        due: list[tuple[str, int, dict[str, Any]]] = []
        with transaction(self.sessions) as s:
            rows = s.execute(select(Device, FleetDevice).join(FleetDevice, FleetDevice.device_id == Device.id)
                             .where(FleetDevice.config_version > 0, Device.online.is_(True),
                                    Device.revoked.is_(False))).all()
            open_cmds = set(s.execute(select(DeviceCommand.device_id).where(
                DeviceCommand.name == "apply_config", DeviceCommand.state.in_(("pending", "sent")))).scalars())
            for dev, fleet in rows:
                in_sync = dev.reported_config_version == fleet.config_version and not drift(
                    fleet.desired_config, _reported(dev))
                recent = fleet.config_sent_at and now - fleet.config_sent_at < timedelta(seconds=self.resend_after_s)
                if in_sync or recent or dev.id in open_cmds:
                    continue
                fleet.config_sent_at = now
                due.append((dev.id, fleet.config_version, dict(fleet.desired_config)))
        for device_id, version, values in due:
            with transaction(self.sessions) as s:
                audit(s, actor="hub", action="config.reconcile", target_type="device", target_id=device_id,
                      detail={"version": version})
            self._send(device_id, version, values, actor="hub:reconcile")
        return [d[0] for d in due]
