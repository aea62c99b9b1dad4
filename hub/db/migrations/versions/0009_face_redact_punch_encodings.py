"""face: remove face encodings from edge punch events that were already decided

Edge ``punch`` events carry the 128-d encoding for the hub's re-verification. The hub now replaces
it with "redacted" once the punch is decided (hub.domain.biometrics); this removes the encodings
earlier releases kept. Undecided punches keep theirs until their handler runs. No downgrade: the
encodings are gone by design.

Revision ID: 0009_face_redact_punch_encodings
Revises: 0006_face_drop_door_alerts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_face_redact_punch_encodings"
down_revision: str | Sequence[str] | None = "0006_face_drop_door_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    conn = op.get_bind()
    events = sa.table("events", sa.column("id", sa.BigInteger), sa.column("type", sa.String),
                      sa.column("data", sa.JSON), sa.column("processed_at", sa.DateTime))
    last = 0
    while True:
        rows = conn.execute(sa.select(events.c.id, events.c.data).where(
            events.c.type == "punch", events.c.processed_at.is_not(None), events.c.id > last)
            .order_by(events.c.id).limit(_BATCH)).all()
        if not rows:
            return
        for row_id, data in rows:
            if isinstance(data, dict) and data.get("encoding") not in (None, "redacted"):
                conn.execute(events.update().where(events.c.id == row_id)
                             .values(data={**data, "encoding": "redacted"}))
        last = rows[-1][0]


def downgrade() -> None:
    pass
