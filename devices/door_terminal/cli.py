"""``door``: run a real door terminal (Raspberry Pi with a relay) until Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import click

from devices.cli_options import tls_from_options, tls_options
from devices.door_terminal.agent import DoorTerminal
from devices.door_terminal.camera import CameraError, OpenCvCamera
from devices.door_terminal.contact import GpioDoorContact
from devices.door_terminal.lock import GpioRelayLock, LockError
from devices.runtime.claim import ClaimFailed, resolve_identity


@click.command("door")
@click.option("--device-id", default=None, help="This terminal's id; not needed once claimed (--claim-token).")
@click.option("--broker", "broker_url", default="mqtt://127.0.0.1:1883", show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the outbox database and the last reported state.")
@click.option("--relay-pin", type=int, default=17, show_default=True, help="GPIO line driving the relay.")
@click.option("--relay-active-low", is_flag=True, help="The relay board switches on a low level.")
@click.option("--camera", default=None,
              help="Face check-in camera: an index (0), a video file or stream URL, or a folder of images.")
@click.option("--face-mode", type=click.Choice(["edge", "thin"]), default="edge", show_default=True,
              help="edge: match on this terminal (works offline); thin: the hub matches.")
@click.option("--claim-token", default=None, envvar="OFFICEHUB_CLAIM_TOKEN",
              help="First start: claim this device on the hub; credentials are kept in --workdir.")
@click.option("--hub-url", default=None, envvar="OFFICEHUB_HUB_URL", help="The hub to claim on.")
@click.option("--username", default=None, envvar="OFFICEHUB_DEVICE_USERNAME")
@click.option("--password", default=None, envvar="OFFICEHUB_DEVICE_PASSWORD")
@click.option("--door-contact-pin", type=int, default=None,
              help="GPIO input of the door-position switch: forced-open and held-open alarms.")
@click.option("--door-contact-open-level", type=click.IntRange(0, 1), default=1, show_default=True,
              help="The level the contact line reads while the door is open.")
@tls_options
def door(device_id: str | None, broker_url: str, workdir: Path, relay_pin: int, relay_active_low: bool,
         camera: str | None, face_mode: str, claim_token: str | None, hub_url: str | None, username: str | None,
         password: str | None, door_contact_pin: int | None, door_contact_open_level: int, ca_file: Path | None,
         cert_file: Path | None, key_file: Path | None) -> None:
    """Run a door terminal: opens the relay on `open_door` commands and reports door events."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tls = tls_from_options(ca_file=ca_file, cert_file=cert_file, key_file=key_file)
    source = None
    if camera is not None:
        try:
            source = OpenCvCamera(camera)
        except CameraError as exc:
            raise click.UsageError(str(exc)) from exc
    try:
        lock = GpioRelayLock(pin=relay_pin, active_high=not relay_active_low)
        contact = (GpioDoorContact(pin=door_contact_pin, open_level=door_contact_open_level)
                   if door_contact_pin is not None else None)
    except LockError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        ident = resolve_identity(workdir=workdir, kind="door_terminal", device_id=device_id, broker_url=broker_url,
                                 username=username, password=password, claim_token=claim_token, hub_url=hub_url,
                                 tls=tls)
    except ClaimFailed as exc:
        raise click.ClickException(str(exc)) from exc
    device_id, broker_url, username, password = ident.device_id, ident.broker_url, ident.username, ident.password
    terminal = DoorTerminal(device_id=device_id, broker_url=broker_url, workdir=workdir, lock=lock,
                            username=username, password=password, face_source=source,
                            face_mode=face_mode if source is not None else None, contact=contact, tls=ident.tls)
    terminal.agent.fleet.capture_logging()  # this process is this device: fetch_logs sees its log
    run_until_signal(terminal.start, terminal.stop, f"door terminal {device_id} on {broker_url}")


def run_until_signal(start: Callable[[], None], stop: Callable[[], None], what: str) -> None:
    """Start, wait for Ctrl-C/SIGTERM, stop gracefully (shared by the device CLIs)."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    start()
    click.echo(f"{what} running; Ctrl-C to stop")
    try:
        while not done.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        click.echo("stopped")
