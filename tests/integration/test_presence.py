"""Inactivity timer on a real database: a device is offline after the hub's silence limit, or after
three of its own heartbeats when its configured interval is longer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.db.models.core import Device
from hub.db.session import transaction
from hub.runtime import HubRuntime
from hub.services.device_liveness import mark_inactive
from tests.fixtures.brokers import unique_id


def test_slow_heartbeats_are_not_silence(hub: HubRuntime) -> None:
    now = datetime.now(UTC)
    quiet, slow, slow_gone = (unique_id(n) for n in ("quiet", "slow", "slow-gone"))
    with transaction(hub.sessions) as s:
        for device_id, silent_s, beat in ((quiet, 200, None), (slow, 1000, 600), (slow_gone, 2000, 600)):
            config = {"heartbeat_s": beat} if beat else {}
            s.add(Device(id=device_id, kind="door_terminal", capabilities=[], online=True, revoked=False,
                         last_seen=now - timedelta(seconds=silent_s), reported_state={"config": config}))
    changes = mark_inactive(hub.sessions, offline_after_s=90, now=now)
    gone = {c.device_id for c in changes if c.device_id in {quiet, slow, slow_gone}}
    assert gone == {quiet, slow_gone}  # 1000 s < 3 × 600 s: the slow one is still online
    with hub.sessions() as s:
        dev = s.get(Device, slow)
        assert dev is not None and dev.online
