"""fleet: firmware manifests name an optional device model and the oldest version they install over

Firmware signatures now cover a manifest (kind, model, version, sha256, size, min_version) instead
of the SHA-256 alone. Rows uploaded before keep their old digest signature; the hub re-signs each as
a manifest the first time it is offered (``FirmwareService.signed_manifest``), since it cannot sign
here without its key.

Revision ID: 0011_fleet_firmware_manifest
Revises: 0008_fleet_retire_config_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_fleet_firmware_manifest"
down_revision: str | Sequence[str] | None = "0008_fleet_retire_config_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fleet_firmware") as batch:
        batch.add_column(sa.Column("model", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("min_version", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fleet_firmware") as batch:
        batch.drop_column("min_version")
        batch.drop_column("model")
