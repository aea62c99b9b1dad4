"""``sim``: run a simulated fleet until Ctrl-C (graceful offline for every agent)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from devices.cli_options import tls_from_options, tls_options
from devices.door_terminal.cli import run_until_signal
from firmware_sim.adapters import FirmwareFaults
from firmware_sim.face_demo import start_face_terminals
from firmware_sim.fleet import SimFleet
from firmware_sim.scenarios import SCENARIOS, ScenarioRunner


@click.command("sim")
@click.option("--doors", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--printboxes", type=click.IntRange(min=0), default=5, show_default=True)
@click.option("--broker", "broker_url", default="mqtt://127.0.0.1:1883", show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where device outboxes live (default: a fresh temporary folder).")
@click.option("--events-per-s", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Synthetic door events per second across the fleet (0: none).")
@click.option("--id-offset", type=click.IntRange(min=0), default=0, show_default=True,
              help="Number devices from offset+1 (run several sim processes for large fleets).")
@click.option("--heartbeat-s", type=click.FloatRange(min=0.1), default=30.0, show_default=True)
@click.option("--username", default=None, envvar="OFFICEHUB_DEVICE_USERNAME")
@click.option("--password", default=None, envvar="OFFICEHUB_DEVICE_PASSWORD")
@click.option("--firmware-key", default=None, envvar="OFFICEHUB_FIRMWARE_PUBLIC_KEY",
              help="The hub's firmware public key (GET /api/v1/firmware/public-key); enables updates.")
@click.option("--firmware-failure-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of firmware installs that fail their health check (and roll back).")
@click.option("--firmware-fail", "firmware_fail", multiple=True, help="Device id whose installs always fail.")
@click.option("--scenario", "scenarios", multiple=True, type=click.Choice(SCENARIOS),
              help="Trouble on a timer: printers running out of paper, devices losing the network (repeatable).")
@click.option("--scenario-every-s", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Mean time between scenario strikes.")
@click.option("--face-dataset", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also run an edge and a thin face terminal whose cameras walk through DIR/probe (the demo).")
@tls_options
def sim(doors: int, printboxes: int, broker_url: str, seed: int, workdir: Path | None, events_per_s: float,
        id_offset: int, heartbeat_s: float, username: str | None, password: str | None, firmware_key: str | None,
        firmware_failure_rate: float, firmware_fail: tuple[str, ...], scenarios: tuple[str, ...],
        scenario_every_s: float, face_dataset: Path | None, ca_file: Path | None, cert_file: Path | None,
        key_file: Path | None) -> None:
    """Run N simulated door terminals and print boxes against a broker."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="officehub-sim-")
        workdir = Path(tmp.name)
    fleet = SimFleet(broker_url=broker_url, doors=doors, printboxes=printboxes, seed=seed, workdir=workdir,
                     event_interval_s=(1.0 / events_per_s) if events_per_s > 0 else None,
                     heartbeat_s=heartbeat_s, username=username, password=password, id_offset=id_offset,
                     tls=tls_from_options(ca_file=ca_file, cert_file=cert_file, key_file=key_file))
    if firmware_key:
        fleet.enable_firmware(public_key_b64=firmware_key, faults=FirmwareFaults(
            fail_ids=set(firmware_fail), failure_rate=firmware_failure_rate, seed=seed))
    runner = ScenarioRunner(fleet, scenarios, every_s=scenario_every_s, seed=seed)

    stop_faces: list[Callable[[], None]] = []

    def start() -> None:
        fleet.start()
        runner.start()
        if face_dataset is not None:
            stop_faces.append(start_face_terminals(broker_url=broker_url, dataset=face_dataset, workdir=workdir))

    def stop() -> None:
        for stop_face in stop_faces:
            stop_face()
        runner.stop()
        fleet.stop()

    try:
        run_until_signal(start, stop, f"simulated fleet ({doors} doors, {printboxes} print boxes) on {broker_url}"
                         + (f", scenarios: {', '.join(scenarios)}" if scenarios else ""))
    finally:
        if tmp is not None:
            tmp.cleanup()
