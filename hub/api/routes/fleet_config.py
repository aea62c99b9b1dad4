"""Desired vs reported device config, config layers (site, group), and device logs on demand."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from hub.api.deps import AdminUser, FleetDep, OperatorUser, RuntimeDep
from hub.api.schemas.devices import CommandPublic
from hub.api.schemas.fleet import (
    ConfigLayerPublic,
    ConfigLayerPut,
    ConfigLayerSaved,
    ConfigPatch,
    ConfigSchema,
    ConfigView,
)
from hub.api.schemas.types import Line
from hub.domain.device_config import ConfigError, config_schema
from hub.services.commands import command_public

router = APIRouter(tags=["fleet config"])
Scope = Annotated[str, Path(pattern=r"^(site|group)$")]
Kind = Annotated[str, Path(pattern=r"^(door_terminal|print_box)$")]


def _one_site(scope: str, name: str) -> None:
    # One hub is one site: a layer for another site name would be stored and pushed but never read.
    if scope == "site" and name != "default":
        raise HTTPException(404, f"no site {name!r}: a hub has one site layer, 'default' "
                                 "(use groups for buildings or floors)")


@router.get("/api/v1/devices/{device_id}/config", response_model=ConfigView)
def get_config(_: OperatorUser, fleet: FleetDep, device_id: Line) -> dict[str, Any]:
    return fleet.config.view(device_id)


@router.patch("/api/v1/devices/{device_id}/config", response_model=ConfigView)
def patch_config(user: AdminUser, fleet: FleetDep, device_id: Line, body: ConfigPatch) -> dict[str, Any]:
    return fleet.config.patch_device(device_id, body.values, expected_version=body.expected_version,
                                             actor=user.username)


@router.get("/api/v1/config/layers/{scope}/{name}/{kind}", response_model=ConfigLayerPublic)
def get_layer(_: OperatorUser, fleet: FleetDep, scope: Scope, name: Line, kind: Kind) -> dict[str, Any]:
    _one_site(scope, name)
    return {"scope": scope, "name": name, "kind": kind,
            "values": fleet.config.layer(scope=scope, name=name, kind=kind)}


@router.put("/api/v1/config/layers/{scope}/{name}/{kind}", response_model=ConfigLayerSaved)
def put_layer(user: AdminUser, fleet: FleetDep, scope: Scope, name: Line, kind: Kind,
              body: ConfigLayerPut) -> dict[str, Any]:
    """Site defaults: ``/config/layers/site/default/{kind}``; a group: ``/config/layers/group/{group}/{kind}``."""
    _one_site(scope, name)
    changed = fleet.config.set_layer(scope=scope, name=name, kind=kind, values=body.values,
                                             actor=user.username)
    return {"scope": scope, "name": name, "kind": kind, "values": body.values, "devices_updated": changed}


@router.get("/api/v1/config/schema/{kind}", response_model=ConfigSchema)
def get_schema(_: OperatorUser, kind: Kind) -> dict[str, Any]:
    try:
        return config_schema(kind)
    except ConfigError as exc:
        raise HTTPException(404, str(exc)) from exc


@router.post("/api/v1/devices/{device_id}/logs", response_model=CommandPublic)
def fetch_logs(user: OperatorUser, rt: RuntimeDep, device_id: Line,
               lines: Annotated[int, Query(ge=1, le=5000)] = 200,
               min_level: Annotated[str, Query(pattern=r"^(debug|info|warning|error)$")] = "debug",
               wait_s: Annotated[float, Query(ge=0, le=30)] = 10) -> dict[str, Any]:
    """Ask the device for its recent log lines; waits up to ``wait_s`` for them (then poll the command)."""
    cmd = rt.commands.send(device_id=device_id, name="fetch_logs", args={"lines": lines, "min_level": min_level},
                           ttl_s=60, ack_timeout_s=30, created_by=user.username)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        current = rt.commands.get(cmd.id)
        if current is not None and current.state not in ("pending", "sent"):
            return command_public(current)
        time.sleep(0.05)
    return command_public(rt.commands.get(cmd.id) or cmd)
