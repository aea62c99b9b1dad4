"""``SimFleet``: N door terminals and print boxes in one process, from the same devices/ code."""

from __future__ import annotations

import logging
import random
import resource
import threading
from pathlib import Path

from devices.door_terminal.agent import DoorTerminal
from devices.door_terminal.checkin import CheckinResult
from devices.door_terminal.face import Frame
from devices.print_box.agent import PrintBox
from devices.runtime import DeviceAgent, Runtime
from facecore.policy import MatchPolicy
from firmware_sim.adapters import (
    FirmwareFaults,
    SimulatedDoorContact,
    SimulatedLock,
    SimulatedPrinter,
    simulated_install,
    simulated_switch,
)
from firmware_sim.print_backend import SimPrintBackend
from protocol.bodies_door import DoorAction, DoorEvent
from protocol.broker_tls import TlsSettings

log = logging.getLogger(__name__)

SimDevice = DoorTerminal | PrintBox

# Agents of a fleet share one epoll network loop (devices.runtime.netloop), so the old select()
# limit (fds < 1024, ~130 agents) is gone; what remains is RLIMIT_NOFILE: each agent holds ~4 file
# descriptors (socket, SQLite db/wal/shm). SimFleet raises the soft limit up to the hard one.
FDS_PER_AGENT = 4
LEDGER_FDS = 3  # a print box's job ledger (SQLite db/wal/shm)
MAX_AGENTS_PER_PROCESS = 20_000


def raise_fd_limit(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``needed`` (bounded by the hard limit); returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def door_id(n: int) -> str:
    return f"door-{n:03d}"


def printbox_id(n: int) -> str:
    return f"printbox-{n:03d}"


class SimFleet:
    def __init__(self, *, broker_url: str, doors: int, printboxes: int, seed: int, workdir: Path,
                 event_interval_s: float | None = None, heartbeat_s: float = 30,
                 ack_timeout_s: float = 10, username: str | None = None, password: str | None = None,
                 id_prefix: str = "", id_offset: int = 0, runtime: Runtime | None = None,
                 face_mode: str | None = None, policy: MatchPolicy | None = None,
                 door_contacts: bool = False, tls: TlsSettings | None = None) -> None:
        """``event_interval_s``: mean time between synthetic door events across the fleet (None: none).
        ``door_contacts``: give each door a simulated door-position switch, polled by the terminal
        for forced/held-open alarms (off by default: thousands of pollers cost a big sim real CPU).
        ``id_prefix`` lets tests sharing a broker keep their device ids apart; ``id_offset`` numbers
        this process's devices after another's (door-{offset+1}...). ``face_mode`` ("edge" or "thin")
        gives every door terminal face check-in; ``see(door, image)`` makes one look at a picture."""
        n = doors + printboxes
        limit = raise_fd_limit(n * FDS_PER_AGENT + printboxes * LEDGER_FDS + 256)
        if n > MAX_AGENTS_PER_PROCESS or n * FDS_PER_AGENT + 64 > limit:
            raise ValueError(f"{n} agents need ~{n * FDS_PER_AGENT} file descriptors; this process may open "
                             f"{limit} (ulimit -n): raise it or split the fleet over `sim` processes (--id-offset)")
        self.seed = seed
        self.rng = random.Random(seed)
        self.workdir = Path(workdir)
        self.event_interval_s = event_interval_s
        self.runtime = runtime or Runtime(io_threads=2, handler_threads=4, shared_network_loop=True)
        self._own_runtime = runtime is None
        self.doors: list[DoorTerminal] = []
        self.printboxes: list[PrintBox] = []
        common = {"broker_url": broker_url, "username": username, "password": password,
                  "heartbeat_s": heartbeat_s, "ack_timeout_s": ack_timeout_s, "runtime": self.runtime, "tls": tls}
        for n in range(id_offset + 1, id_offset + doors + 1):
            did = id_prefix + door_id(n)
            contact = SimulatedDoorContact() if door_contacts else None
            self.doors.append(DoorTerminal(device_id=did, workdir=self.workdir / did, lock=SimulatedLock(),
                                           contact=contact, rng=random.Random(self.rng.random()),
                                           face_mode=face_mode, policy=policy, **common))  # type: ignore[arg-type]  # **dict loses per-keyword types
        for n in range(id_offset + 1, id_offset + printboxes + 1):
            did = id_prefix + printbox_id(n)
            # A simulated printer behind a real job runner: submitted jobs are downloaded and "printed".
            printers = SimPrintBackend([SimulatedPrinter(name=f"{did}-laser")])
            self.printboxes.append(PrintBox(device_id=did, workdir=self.workdir / did, printers=printers,
                                            backend=printers, rng=random.Random(self.rng.random()),
                                            **common))  # type: ignore[arg-type]  # **dict loses per-keyword types
        for d in self.devices:
            # A simulated restart (new boot id, fresh birth messages) is this simulator's reboot.
            d.agent.fleet.reboot_hook = d.agent.soft_reboot
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def devices(self) -> list[SimDevice]:
        return [*self.doors, *self.printboxes]

    @property
    def agents(self) -> list[DeviceAgent]:
        return [d.agent for d in self.devices]

    def start(self) -> None:
        for d in self.devices:
            d.start()
        if self.event_interval_s:
            self._thread = threading.Thread(target=self._events, name="sim-events", daemon=True)
            self._thread.start()

    def wait_connected(self, timeout: float = 30.0) -> bool:
        return all(a.wait_connected(timeout) for a in self.agents)

    def stop(self) -> None:
        """Graceful: every agent publishes offline and disconnects."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for d in self.devices:
            d.stop()
        if self._own_runtime:
            self.runtime.close()

    def door(self, device_id: str) -> DoorTerminal:
        for d in self.doors:
            if d.device_id == device_id:
                return d
        raise KeyError(f"no simulated door terminal {device_id!r}")

    def see(self, door: DoorTerminal | str, image: Frame) -> CheckinResult:
        """Make a face terminal look at ``image`` (a path, image bytes or RGB array) once."""
        terminal = self.door(door) if isinstance(door, str) else door
        if terminal.face is None:
            raise RuntimeError(f"{terminal.device_id} has no face check-in (start the fleet with face_mode)")
        return terminal.face.present(image)

    def wait_gallery_synced(self, timeout: float = 30.0) -> bool:
        """Edge terminals: True once each has pulled its gallery at least once."""
        return all(d.face.synced.wait(timeout) for d in self.doors if d.face is not None and d.face.mode == "edge")

    def enable_firmware(self, *, public_key_b64: str, faults: FirmwareFaults | None = None) -> None:
        """Trust the hub's firmware key and plug in the simulated installer on every device;
        ``faults`` picks which installs fail."""
        for d in self.devices:
            d.agent.fleet.trust_firmware_key(public_key_b64)
            d.agent.fleet.install_hook = faults.hook_for(d.device_id) if faults is not None else simulated_install
            d.agent.fleet.switch_hook = simulated_switch

    def device(self, device_id: str) -> SimDevice:
        for d in self.devices:
            if d.device_id == device_id:
                return d
        raise KeyError(f"no simulated device {device_id!r}")

    def total_outbox_depth(self) -> int:
        return sum(a.outbox.depth() for a in self.agents)

    def next_event(self) -> tuple[float, DoorTerminal, DoorAction]:
        """The next synthetic door event: (delay before it, door, action), from the seeded rng."""
        assert self.event_interval_s and self.doors
        delay = self.rng.expovariate(1.0 / self.event_interval_s)
        door = self.rng.choice(self.doors)
        action = self.rng.choices([DoorAction.OPENED, DoorAction.CLOSED, DoorAction.DENIED, DoorAction.HELD_OPEN],
                                  [45, 45, 8, 2])[0]
        return delay, door, action

    def _events(self) -> None:
        if not self.doors:
            return
        while True:
            delay, door, action = self.next_event()
            if self._stop.wait(delay):
                return
            try:
                door.agent.emit(DoorEvent(action=action, door="main", reason="sim"))
            except RuntimeError:
                return  # outbox closed: we are stopping
