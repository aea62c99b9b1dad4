"""Fleet behaviour every device agent has: ping, reboot, logs on demand, config, firmware A/B.

Firmware uses two slots (Mender-style A/B). Before downloading, the device checks the hub-signed
manifest (``protocol.firmware_policy``: signature, its kind/model, ``min_version``, and that the
image is newer unless a signed rollback authorisation for this device and version comes with it);
the image is then downloaded into the inactive slot, checked against the manifest's sha256 and size,
and activated; a failing install or health check leaves the active slot untouched, so a device is
never half-applied. ``rollback_firmware`` switches back to the previous slot (going back to an older
version needs the signed authorisation too). Slots survive restarts (``slots.json``).

Installing, switching slots and rebooting are hardware steps the device's owner plugs in
(``install_hook``, ``switch_hook``, ``reboot_hook``; the simulator plugs in its own). A device
without one answers ``unsupported`` with the reason instead of reporting a change that never
happened: no "succeeded" for an image nobody installed, no new boot id without a restart.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from devices.runtime.commands import CommandUnsupported
from devices.runtime.ports import AgentPort, ConfigHook
from protocol.bodies_fleet import (
    ApplyConfigArgs,
    ConfigAppliedEvent,
    FetchLogsArgs,
    FirmwareEvent,
    RollbackFirmwareArgs,
    UpdateFirmwareArgs,
)
from protocol.events import AlarmEvent, PingArgs, RebootArgs
from protocol.firmware import FirmwareRejected, check_image, public_key_from_b64
from protocol.firmware_policy import DeviceIdentity, check_install, check_switch_back

log = logging.getLogger(__name__)

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
KEY_FILE = "firmware-key.pub"
# (version, downloaded and verified image) -> None: writes it into the inactive slot and makes that
# the boot slot; raises to make the install fail (hardware hook / fault injection).
InstallHook = Callable[[str, Path], None]
# (version) -> None: makes the installed slot holding ``version`` the boot slot again (rollback).
SwitchHook = Callable[[str], None]
# () -> None: restarts the device (or at least this agent's process); runs after the ack went out.
RebootHook = Callable[[], None]


class FirmwareFailed(RuntimeError):
    pass


def heartbeat_from_config(config: dict[str, Any], *, default: float) -> float:
    """The ``heartbeat_s`` of a device config (the hub validates 5–3600 s), else ``default``."""
    value = config.get("heartbeat_s")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"heartbeat_s must be a positive number of seconds, got {value!r}")
    return float(value)


class FleetFeatures:
    def __init__(self, agent: AgentPort, *, log_lines: int = 2000) -> None:
        self.agent = agent
        self.dir = agent.workdir / "firmware"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._logs: deque[tuple[str, str, str]] = deque(maxlen=log_lines)
        self.log_floor = LEVELS["info"]  # config log_level
        self.install_hook: InstallHook | None = None
        self.switch_hook: SwitchHook | None = None
        self.reboot_hook: RebootHook | None = None
        self.config_hooks: list[ConfigHook] = []
        self.reboots = 0
        self.public_key: Ed25519PublicKey | None = None
        key_file = agent.workdir / KEY_FILE
        if key_file.exists():
            self.public_key = public_key_from_b64(key_file.read_text().strip())
        self._slots_path = self.dir / "slots.json"
        self.slots = self._load_slots()
        agent.firmware = self.slots["active"]
        for name, fn in (("ping", self._ping), ("reboot", self._reboot), ("fetch_logs", self._fetch_logs),
                         ("apply_config", self._apply_config), ("update_firmware", self._update_firmware),
                         ("rollback_firmware", self._rollback_firmware)):
            agent.on_command(name, fn)

    # --- setup ----------------------------------------------------------------------------------

    def trust_firmware_key(self, public_key_b64: str) -> None:
        """Set (and persist) the hub's firmware signing key."""
        self.public_key = public_key_from_b64(public_key_b64)
        (self.agent.workdir / KEY_FILE).write_text(public_key_b64)

    def log(self, level: str, message: str) -> None:
        if LEVELS.get(level, 20) < self.log_floor:
            return
        self._logs.append((datetime.now(UTC).isoformat(timespec="milliseconds"), level, message))

    def capture_logging(self, logger: logging.Logger | None = None) -> logging.Handler:
        """Also keep this process's Python log records (camera, CUPS, check-in errors…) for
        ``fetch_logs``. For a device CLI, where the process is this one device; a simulator with
        many agents in one process keeps to the agents' own runtime messages."""
        handler = _FleetLogHandler(self)
        (logger or logging.getLogger()).addHandler(handler)
        return handler

    def set_local_config(self, key: str, value: Any) -> None:
        """Change one value on the device itself (a technician at the panel): shows up as drift."""
        st = self.agent.state
        self.log("warning", f"local config change: {key}={value!r}")
        self.agent.publish_state(config_version=st.config_version, config={**st.config, key: value}, live=st.live)

    # --- commands -------------------------------------------------------------------------------

    def _ping(self, raw: dict[str, Any]) -> dict[str, Any]:
        args = PingArgs.model_validate(raw)
        return {"pong": True, "echo": args.echo, "boot_id": self.agent.boot_id, "firmware": self.agent.firmware,
                "uptime_s": round(self.agent.uptime_s, 3)}

    def _reboot(self, raw: dict[str, Any]) -> dict[str, Any]:
        args = RebootArgs.model_validate(raw)
        if self.reboot_hook is None:
            raise CommandUnsupported("this device has no way to restart itself (no reboot hook): nothing was "
                                     f"restarted, boot id {self.agent.boot_id} still runs")
        self.log("info", f"reboot requested (in {args.delay_s:g}s)")
        self.reboots += 1
        # Ack first, then restart: the hub sees the ack and afterwards a new boot id.
        self.agent.runtime.scheduler.call_later(args.delay_s + 0.2, self._restart)
        return {"rebooting_in_s": args.delay_s}

    def _restart(self) -> None:
        try:
            if self.reboot_hook is None:
                raise RuntimeError("the reboot hook was removed")
            self.reboot_hook()
        except Exception as exc:  # the ack promised a restart: say loudly that it did not happen
            self.log("error", f"reboot failed: {exc}")
            self.agent.emit(AlarmEvent(code="reboot_failed", severity="warning",
                                       message=f"the requested reboot did not happen: {exc}"[:1000]))

    def _fetch_logs(self, raw: dict[str, Any]) -> dict[str, Any]:
        args = FetchLogsArgs.model_validate(raw)
        floor = LEVELS[args.min_level]
        lines = [f"{ts} {lvl.upper()} {msg}" for ts, lvl, msg in list(self._logs) if LEVELS.get(lvl, 20) >= floor]
        return {"lines": lines[-args.lines:], "truncated": len(lines) > args.lines}

    def _apply_config(self, raw: dict[str, Any]) -> dict[str, Any]:
        args = ApplyConfigArgs.model_validate(raw)
        try:
            # Checked before the hooks run, applied after they all succeed: a refused config changes nothing.
            heartbeat_s = heartbeat_from_config(dict(args.config), default=self.agent.default_heartbeat_s)
            for hook in self.config_hooks:
                hook(dict(args.config))
        except Exception as exc:
            self.log("error", f"config v{args.version} refused: {exc}")
            self.agent.emit(ConfigAppliedEvent(version=args.version, ok=False, error=str(exc)[:1000]))
            raise
        self.agent.set_heartbeat_interval(heartbeat_s)
        self.log_floor = LEVELS.get(str(args.config.get("log_level", "info")), LEVELS["info"])
        self.agent.publish_state(config_version=args.version, config=dict(args.config), live=self.agent.state.live)
        self.agent.emit(ConfigAppliedEvent(version=args.version, ok=True))
        self.log("info", f"config v{args.version} applied")
        return {"version": args.version}

    def _event(self, rollout_id: str, version: str, state: str, error: str | None = None) -> None:
        self.agent.emit(FirmwareEvent(rollout_id=rollout_id, version=version, state=state, error=error))
        self.log("error" if state == "failed" else "info",
                 f"firmware {version}: {state}" + (f" ({error})" if error else ""))

    def _identity(self) -> DeviceIdentity:
        return DeviceIdentity(device_id=self.agent.device_id, kind=self.agent.kind, model=self.agent.model)

    def _update_firmware(self, raw: dict[str, Any]) -> dict[str, Any]:
        a = UpdateFirmwareArgs.model_validate(raw)
        with self._lock:
            install = self.install_hook
            if install is None:
                # Checked before the download: without an installer nothing would change, so nothing is fetched.
                why = (f"unsupported: this device has no firmware installer; {a.version} was not downloaded "
                       f"or installed and {self.slots['active']} still runs")
                self._event(a.rollout_id, a.version, "failed", why)
                raise CommandUnsupported(why)
            image = self.dir / f"slot-{a.version}.bin.part"
            try:
                if self.public_key is None:
                    raise FirmwareFailed("bad_signature: no firmware key configured on this device")
                # Everything the signed manifest decides is checked before a byte is downloaded.
                already = self.slots["active"] == a.version  # e.g. a re-sent offer: nothing to do
                try:
                    check_install(a.manifest, a.signature, device=self._identity(), current=self.slots["active"],
                                  public_key=self.public_key, rollback=a.rollback, now=time.time())
                except FirmwareRejected as exc:
                    if exc.reason != "downgrade" or not already:
                        raise FirmwareFailed(f"{exc.reason}: {exc.detail}") from exc
                if already:
                    self._event(a.rollout_id, a.version, "succeeded")
                    return {"version": a.version, "state": "succeeded", "note": "already installed"}
                self._event(a.rollout_id, a.version, "downloading")
                self._download(a.url, image)
                self._event(a.rollout_id, a.version, "verifying")
                try:
                    check_image(image, a.manifest)
                except FirmwareRejected as exc:
                    raise FirmwareFailed(f"{exc.reason}: {exc.detail}") from exc
                self._event(a.rollout_id, a.version, "applying")
                try:
                    install(a.version, image)
                except Exception as exc:
                    raise FirmwareFailed(f"apply: {exc}") from exc
            except FirmwareFailed as exc:
                image.unlink(missing_ok=True)
                self._event(a.rollout_id, a.version, "failed", str(exc)[:1000])
                raise
            except OSError as exc:
                image.unlink(missing_ok=True)
                self._event(a.rollout_id, a.version, "failed", f"download: {exc}"[:1000])
                raise FirmwareFailed(f"download: {exc}") from exc
            os.replace(image, self.dir / f"slot-{a.version}.bin")
            self._switch(active=a.version, previous=self.slots["active"])
            self._event(a.rollout_id, a.version, "succeeded")
            return {"version": a.version, "state": "succeeded"}

    def _rollback_firmware(self, raw: dict[str, Any]) -> dict[str, Any]:
        a = RollbackFirmwareArgs.model_validate(raw)
        with self._lock:
            if self.slots["active"] != a.version:
                if self.slots.get("previous") != a.version:
                    raise FirmwareFailed(f"version {a.version} is in neither slot "
                                         f"(active {self.slots['active']}, previous {self.slots.get('previous')})")
                if self.switch_hook is None:
                    raise CommandUnsupported(f"this device cannot switch firmware slots (no switch hook): "
                                             f"{self.slots['active']} still runs, not {a.version}")
                try:
                    if self.public_key is None:
                        raise FirmwareRejected("bad_signature", "no firmware key configured on this device")
                    check_switch_back(a.version, device=self._identity(), current=self.slots["active"],
                                      public_key=self.public_key, rollback=a.rollback, now=time.time())
                except FirmwareRejected as exc:
                    why = f"{exc.reason}: {exc.detail}"
                    self._event(a.rollout_id, a.version, "failed", why[:1000])
                    raise FirmwareFailed(why) from exc
                try:
                    self.switch_hook(a.version)
                except Exception as exc:
                    raise FirmwareFailed(f"switch to {a.version}: {exc}") from exc
                self._switch(active=a.version, previous=self.slots["active"])
            self._event(a.rollout_id, a.version, "rolled_back")
            return {"version": a.version, "state": "rolled_back"}

    # --- helpers --------------------------------------------------------------------------------

    def _download(self, url: str, dest: Path) -> None:
        if not url.startswith(("http://", "https://")):
            raise FirmwareFailed(f"download: refusing non-HTTP URL {url[:60]!r}")
        # A hub serving HTTPS with a private CA: trust the CA this device was given.
        ctx = self.agent.https_context()
        with urllib.request.urlopen(url, timeout=60, context=ctx) as res, open(dest, "wb") as f:
            shutil.copyfileobj(res, f, 1024 * 1024)

    def _switch(self, *, active: str, previous: str | None) -> None:
        self.slots = {"active": active, "previous": previous}
        tmp = self._slots_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.slots))
        os.replace(tmp, self._slots_path)  # the atomic switch: either slot set, never a mix
        self.agent.firmware = active
        self.agent.republish_info()

    def _load_slots(self) -> dict[str, Any]:
        try:
            data = json.loads(self._slots_path.read_text())
            if isinstance(data, dict) and isinstance(data.get("active"), str):
                return data
        except (OSError, ValueError):
            pass
        return {"active": self.agent.firmware, "previous": None}


class _FleetLogHandler(logging.Handler):
    _NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning"}

    def __init__(self, features: FleetFeatures) -> None:
        super().__init__(level=logging.DEBUG)
        self.features = features

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = self._NAMES.get(record.levelno, "error")
            text = f"{record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            self.features.log(level, text)
        except Exception:  # logging must never raise into the caller
            self.handleError(record)
