"""Per-command roles on ``POST /api/v1/devices/{id}/commands``: operators send the day-to-day
commands, firmware/config/template commands need an admin, print commands only come from the print
feature. Each command is sent with valid arguments, so a 202 means it was really queued."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.db.models.core import Device, DeviceCommand
from hub.db.session import transaction
from hub.runtime import HubRuntime
from tests.fixtures.brokers import unique_id

JOB = "a" * 32
VALID_ARGS: dict[str, dict[str, Any]] = {
    "ping": {}, "reboot": {}, "open_door": {"duration_s": 2}, "fetch_logs": {"lines": 10},
    "sync_gallery": {"version": 0},
    "update_firmware": {"rollout_id": "r1", "url": "http://127.0.0.1:1/fw.bin", "signature": "c2ln",
                        "manifest": {"kind": "door_terminal", "version": "9.9.9", "sha256": "0" * 64, "size": 10}},
    "rollback_firmware": {"rollout_id": "r1", "version": "0.1.0"},
    "apply_config": {"version": 1, "config": {}},
    "delete_templates": {"employee_id": "1", "version": 0},
    "print_job": {"job_id": JOB, "url": "http://127.0.0.1:1/x.pdf", "sha256": "0" * 64, "size": 1,
                  "filename": "x.pdf", "queue": "q"},
    "cancel_print_job": {"job_id": JOB}, "release_job": {"job_id": JOB},
}
# name → (operator's status, admin's status)
EXPECTED = {
    "ping": (202, 202), "reboot": (202, 202), "open_door": (202, 202), "fetch_logs": (202, 202),
    "sync_gallery": (202, 202),
    "update_firmware": (403, 202), "rollback_firmware": (403, 202), "apply_config": (403, 202),
    "delete_templates": (403, 202),
    "print_job": (403, 403), "cancel_print_job": (403, 403), "release_job": (403, 403),
}


@pytest.fixture
def device(hub: HubRuntime) -> str:
    device_id = unique_id("cmdrole")
    with transaction(hub.sessions) as s:  # offline: commands stay pending, which is enough here
        s.add(Device(id=device_id, kind="door_terminal", capabilities=["face"], online=False))
    return device_id


def _stored(hub: HubRuntime, device_id: str, name: str) -> int:
    with hub.sessions() as s:
        return int(s.execute(select(func.count()).select_from(DeviceCommand).where(
            DeviceCommand.device_id == device_id, DeviceCommand.name == name)).scalar_one())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_command_needs_its_role(name: str, api: TestClient, hub: HubRuntime, device: str,
                                     admin_headers: dict[str, str], make_user: Callable[..., dict[str, str]]) -> None:
    operator = make_user("operator")
    url = f"/api/v1/devices/{device}/commands"
    for who, headers, expected in (("operator", operator, EXPECTED[name][0]),
                                   ("admin", admin_headers, EXPECTED[name][1])):
        before = _stored(hub, device, name)
        res = api.post(url, headers=headers, json={"name": name, "args": VALID_ARGS[name]})
        assert res.status_code == expected, f"{who} sending {name}: {res.status_code} {res.text}"
        assert _stored(hub, device, name) == before + (1 if expected == 202 else 0)
        if expected == 403:
            assert name in res.json()["detail"]


def test_employees_send_no_command_and_unknown_names_stay_a_422(api: TestClient, device: str,
                                                                admin_headers: dict[str, str],
                                                                make_user: Callable[..., dict[str, str]]) -> None:
    url = f"/api/v1/devices/{device}/commands"
    assert api.post(url, headers=make_user("employee"), json={"name": "ping"}).status_code == 403
    res = api.post(url, headers=admin_headers, json={"name": "format_disk"})
    assert res.status_code == 422 and "unknown command" in res.json()["detail"]
