"""Command execution with at-most-once semantics per ``command_id``.

The id is recorded in the outbox database before the handler runs and the ack after it, so a
redelivered command (QoS 1 duplicate, hub retry, or after a restart) is acked again with the
stored outcome instead of opening a door twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from devices.runtime.outbox import Outbox
from protocol.events import COMMAND_ARGS
from protocol.payloads import Command, CommandAck, CommandAckStatus, utcnow

log = logging.getLogger(__name__)

CommandHandler = Callable[[dict[str, Any]], dict[str, Any] | None]


class CommandUnsupported(Exception):
    """A handler raises this when the device cannot carry the command out (no installer, no
    way to reboot, a feature it does not have): acked ``unsupported`` with the reason, never ``ok``."""


class CommandDispatcher:
    def __init__(self, *, outbox: Outbox, publish_ack: Callable[[bytes], None]) -> None:
        self._outbox = outbox
        self._publish_ack = publish_ack
        self._handlers: dict[str, CommandHandler] = {}
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self.executed = 0  # handler invocations (observable in tests)

    def register(self, name: str, handler: CommandHandler) -> None:
        self._handlers[name] = handler

    @property
    def names(self) -> list[str]:
        return sorted(self._handlers)

    def handle(self, payload: bytes) -> None:
        """Run on a worker thread, never on the network thread."""
        try:
            cmd = Command.model_validate_json(payload)
        except ValidationError as exc:
            # Without a valid command_id there is nothing to ack; the hub will time the command out.
            log.warning("dropping malformed command: %s", exc.errors(include_url=False)[:3])
            return
        with self._lock:
            if cmd.command_id in self._running:
                log.info("command %s is already running; duplicate ignored", cmd.command_id)
                return
            stored = self._outbox.command_outcome(cmd.command_id)
            if stored:
                self._publish_ack(stored.encode())
                return
            if stored == "":
                # Marked as started by an earlier process that died before it finished.
                self._finish(cmd, CommandAck(command_id=cmd.command_id, status=CommandAckStatus.ERROR,
                                             error="interrupted: the device restarted while running it"))
                return
            if utcnow() > cmd.expires_at:
                self._finish(cmd, CommandAck(command_id=cmd.command_id, status=CommandAckStatus.EXPIRED,
                                             error=f"expired at {cmd.expires_at.isoformat()}"))
                return
            handler = self._handlers.get(cmd.name)
            if handler is None:
                self._finish(cmd, CommandAck(command_id=cmd.command_id, status=CommandAckStatus.UNSUPPORTED,
                                             error=f"this device does not support {cmd.name!r}"))
                return
            self._running.add(cmd.command_id)
            self._outbox.mark_command(cmd.command_id, "")
        try:
            ack = self._execute(cmd, handler)
        finally:
            with self._lock:
                self._running.discard(cmd.command_id)
        self._finish(cmd, ack)

    def _execute(self, cmd: Command, handler: CommandHandler) -> CommandAck:
        args: dict[str, Any] = cmd.args
        model = COMMAND_ARGS.get(cmd.name)
        if model is not None:
            try:
                args = model.model_validate(cmd.args).model_dump(mode="json")
            except ValidationError as exc:
                return CommandAck(command_id=cmd.command_id, status=CommandAckStatus.ERROR,
                                  error=f"invalid args: {exc.errors(include_url=False)}")
        self.executed += 1
        try:
            result = handler(args) or {}
        except CommandUnsupported as exc:
            log.info("command %s (%s) unsupported here: %s", cmd.command_id, cmd.name, exc)
            return CommandAck(command_id=cmd.command_id, status=CommandAckStatus.UNSUPPORTED, error=str(exc))
        except Exception as exc:
            log.warning("command %s (%s) failed: %s", cmd.command_id, cmd.name, exc)
            return CommandAck(command_id=cmd.command_id, status=CommandAckStatus.ERROR,
                              error=f"{type(exc).__name__}: {exc}")
        return CommandAck(command_id=cmd.command_id, status=CommandAckStatus.OK, result=result)

    def _finish(self, cmd: Command, ack: CommandAck) -> None:
        raw = ack.to_bytes()
        self._outbox.mark_command(cmd.command_id, raw.decode())
        self._publish_ack(raw)
