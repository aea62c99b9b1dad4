"""fleet: remove retired device config keys from stored layers, overrides and desired configs

Device config keys that no device applied (door terminals: timezone, liveness_required; print
boxes: timezone, release_timeout_s, which the hub's print_hold_ttl_h governs) were removed from the
schema. A stored layer still holding one would now be refused as an unknown key, so
they are dropped here. Downgrade restores nothing (the values had no effect).

Revision ID: 0008_fleet_retire_config_keys
Revises: 0004_fleet
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008_fleet_retire_config_keys"
down_revision: str | Sequence[str] | None = "0004_fleet"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy (a migration must not change when the application's lists do).
RETIRED = {
    "door_terminal": ("timezone", "liveness_required"),
    "print_box": ("timezone", "release_timeout_s"),
}
ALL_RETIRED = frozenset(k for keys in RETIRED.values() for k in keys)


def _without(values: Any, retired: frozenset[str] | tuple[str, ...]) -> Any:
    if not isinstance(values, dict) or not any(k in values for k in retired):
        return None
    return {k: v for k, v in values.items() if k not in retired}


def upgrade() -> None:
    conn = op.get_bind()
    layers = sa.table("fleet_config_layers", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                      sa.column("values", sa.JSON))
    for row in conn.execute(sa.select(layers.c.id, layers.c.kind, layers.c["values"])).all():
        cleaned = _without(row[2], RETIRED.get(row[1], ()))
        if cleaned is not None:
            conn.execute(layers.update().where(layers.c.id == row[0]).values({"values": cleaned}))
    # Device rows do not record their kind here; the retired names are unique to their kinds.
    devices = sa.table("fleet_devices", sa.column("device_id", sa.String), sa.column("config_overrides", sa.JSON),
                       sa.column("desired_config", sa.JSON))
    for device_id, overrides, desired in conn.execute(
            sa.select(devices.c.device_id, devices.c.config_overrides, devices.c.desired_config)).all():
        changes = {}
        for name, values in (("config_overrides", overrides), ("desired_config", desired)):
            cleaned = _without(values, ALL_RETIRED)
            if cleaned is not None:
                changes[name] = cleaned
        if changes:
            conn.execute(devices.update().where(devices.c.device_id == device_id).values(changes))


def downgrade() -> None:
    pass
