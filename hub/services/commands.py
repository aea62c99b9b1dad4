"""Commands to devices: validated, stored, published (never retained), tracked until an outcome.

States: pending → sent → acked | failed | timed_out | expired, and pending → canceled when what
asked for it no longer wants it (an aborted rollout). A command for an offline device stays pending
and is sent when the device comes back, unless it expires first; devices execute a command id at
most once, so re-sending is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from hub.db.models.core import Device, DeviceCommand
from hub.db.session import SessionFactory, transaction
from hub.services.errors import ServiceError
from protocol import events as bodies
from protocol import payloads as p
from protocol import topics

log = logging.getLogger(__name__)

OPEN_STATES = ("pending", "sent")


class CommandRejected(ServiceError, ValueError):
    """The command cannot be sent (unknown name, bad arguments, unknown device)."""

    status = 422


class CommandService:
    def __init__(self, *, sessions: SessionFactory, publish: Callable[..., bool], default_ttl_s: float,
                 on_change: Callable[[DeviceCommand], None] | None = None) -> None:
        self.sessions = sessions
        self.publish = publish
        self.default_ttl_s = default_ttl_s
        self.on_change = on_change

    def send(self, *, device_id: str, name: str, args: dict[str, Any] | None = None,
             ttl_s: float | None = None, ack_timeout_s: float = 30, created_by: str = "hub",
             command_id: str | None = None) -> DeviceCommand:
        model = bodies.COMMAND_ARGS.get(name)
        if model is None:
            raise CommandRejected(f"unknown command {name!r}; known: {', '.join(sorted(bodies.COMMAND_ARGS))}")
        try:
            clean = model.model_validate(args or {}).model_dump(mode="json")
        except ValidationError as exc:
            msgs = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}" for e in exc.errors())
            raise CommandRejected(f"invalid arguments for {name}: {msgs}") from exc
        now = datetime.now(UTC)
        with transaction(self.sessions) as session:
            dev = session.get(Device, device_id)
            if dev is None or dev.revoked:
                raise CommandRejected(f"unknown device {device_id!r}")
            cmd = DeviceCommand(id=command_id or p.new_id(), device_id=device_id, name=name, args=clean,
                                state="pending", created_at=now, attempts=0, result={},
                                expires_at=now + timedelta(seconds=ttl_s or self.default_ttl_s),
                                ack_timeout_s=ack_timeout_s, created_by=created_by)
            session.add(cmd)
            online = dev.online
        if online:
            self._publish(cmd)
        return self.get(cmd.id) or cmd

    def get(self, command_id: str) -> DeviceCommand | None:
        with self.sessions() as session:
            return session.get(DeviceCommand, command_id)

    def _publish(self, cmd: DeviceCommand) -> None:
        msg = p.Command(command_id=cmd.id, name=cmd.name, args=cmd.args, issued_at=cmd.created_at,
                        expires_at=cmd.expires_at)
        if not self.publish(topics.command(cmd.device_id), msg.to_bytes(), qos=1, retain=False):
            return  # broker unreachable: stays pending, the sweeper re-sends
        with transaction(self.sessions) as session:
            row = session.get(DeviceCommand, cmd.id)
            if row is not None and row.state in OPEN_STATES:
                row.state, row.sent_at, row.attempts = "sent", datetime.now(UTC), row.attempts + 1
                cmd = row
        if self.on_change:
            self.on_change(cmd)

    def resend_pending(self, device_id: str) -> int:
        """Called when a device comes online: deliver what waited for it."""
        now = datetime.now(UTC)
        with self.sessions() as session:
            rows = session.execute(select(DeviceCommand).where(
                DeviceCommand.device_id == device_id, DeviceCommand.state.in_(OPEN_STATES),
                DeviceCommand.expires_at > now).order_by(DeviceCommand.created_at)).scalars().all()
        for cmd in rows:
            self._publish(cmd)
        return len(rows)

    def cancel_pending(self, *, name: str, where: Callable[[dict[str, Any]], bool], reason: str) -> int:
        """Cancel the `name` commands still waiting for their device whose args match `where`;
        returns how many. A sent command may already be running on the device: it is left to
        finish and report. A pending one that was sent before (its device went away before
        acking) may have run too: its record says so, and a late ack still replaces it."""
        now = datetime.now(UTC)
        changed: list[DeviceCommand] = []
        with transaction(self.sessions) as session:
            rows = session.execute(select(DeviceCommand).where(
                DeviceCommand.name == name, DeviceCommand.state == "pending")).scalars().all()
            for cmd in rows:
                if where(cmd.args):
                    why = reason if not cmd.attempts else (
                        f"{reason}; it had been sent {cmd.attempts}x without an ack, so the device may have run it")
                    cmd.state, cmd.finished_at, cmd.error = "canceled", now, why
                    changed.append(cmd)
        if self.on_change:
            for cmd in changed:
                self.on_change(cmd)
        return len(changed)

    def sweep(self, now: datetime | None = None) -> None:
        """Expire and time out commands; re-send pending ones to online devices."""
        now = now or datetime.now(UTC)
        changed: list[DeviceCommand] = []
        to_send: list[DeviceCommand] = []
        with transaction(self.sessions) as session:
            rows = session.execute(select(DeviceCommand, Device.online).join(
                Device, Device.id == DeviceCommand.device_id).where(
                DeviceCommand.state.in_(OPEN_STATES))).all()
            for cmd, online in rows:
                if cmd.expires_at <= now:
                    cmd.state, cmd.finished_at, cmd.error = "expired", now, "expired before the device acked"
                    changed.append(cmd)
                elif cmd.state == "sent" and cmd.sent_at and cmd.sent_at + timedelta(
                        seconds=cmd.ack_timeout_s) <= now:
                    if online:
                        cmd.state, cmd.finished_at = "timed_out", now
                        cmd.error = f"no ack within {cmd.ack_timeout_s:g}s"
                        changed.append(cmd)
                    else:
                        cmd.state = "pending"  # device went away: deliver when it returns
                elif cmd.state == "pending" and online:
                    to_send.append(cmd)
        for cmd in to_send:
            self._publish(cmd)
        if self.on_change:
            for cmd in changed:
                self.on_change(cmd)


def command_public(cmd: DeviceCommand) -> dict[str, Any]:
    return {"id": cmd.id, "device_id": cmd.device_id, "name": cmd.name, "args": cmd.args, "state": cmd.state,
            "created_at": cmd.created_at, "sent_at": cmd.sent_at, "expires_at": cmd.expires_at,
            "finished_at": cmd.finished_at, "result": cmd.result, "error": cmd.error,
            "attempts": cmd.attempts, "created_by": cmd.created_by}
