"""``printbox``: run a print box next to a CUPS server until Ctrl-C."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import click

from devices.cli_options import tls_from_options, tls_options
from devices.door_terminal.cli import run_until_signal
from devices.print_box.agent import PrintBox
from devices.print_box.ports import PrinterStatus
from devices.print_box.release_panel import ReleasePanel
from devices.runtime.claim import ClaimFailed, resolve_identity

# IPP printer-state values.
_CUPS_STATES = {3: "idle", 4: "printing", 5: "stopped"}


class CupsPrinterSource:
    """Lists CUPS queues with a short-lived connection (pycups connections are not thread-safe)."""

    def __init__(self, *, host: str | None = None) -> None:
        try:
            import cups  # noqa: F401
        except ImportError as exc:
            raise click.ClickException("pycups is not installed: pip install 'officehub[print]'") from exc
        self.host = host

    def printers(self) -> list[PrinterStatus]:
        import cups

        conn = cups.Connection(host=self.host) if self.host else cups.Connection()
        out = []
        for name, attrs in sorted(conn.getPrinters().items()):
            state = _CUPS_STATES.get(int(attrs.get("printer-state", 0)), "error")
            out.append(PrinterStatus(name=name, state=state,
                                     message=str(attrs.get("printer-state-message", "")),
                                     accepting=bool(attrs.get("printer-is-accepting-jobs", True))))
        return out


@click.command("printbox")
@click.option("--device-id", default=None, help="This box's id; not needed once claimed (--claim-token).")
@click.option("--broker", "broker_url", default="mqtt://127.0.0.1:1883", show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the outbox database and the last reported state.")
@click.option("--cups-host", default=None, help="CUPS server (default: the local one).")
@click.option("--claim-token", default=None, envvar="OFFICEHUB_CLAIM_TOKEN",
              help="First start: claim this device on the hub; credentials are kept in --workdir.")
@click.option("--hub-url", default=None, envvar="OFFICEHUB_HUB_URL", help="The hub to claim on.")
@click.option("--username", default=None, envvar="OFFICEHUB_DEVICE_USERNAME")
@click.option("--password", default=None, envvar="OFFICEHUB_DEVICE_PASSWORD")
@click.option("--panel", default=None, metavar="stdin|PATH",
              help="Release panel: read employee number then PIN (or 'EMPLOYEE-NO PIN') and scanned job codes, "
                   "one per line, from standard input or a keypad/scanner device, and show the hub's answer.")
@click.option("--panel-printer", default=None, help="The CUPS printer the release panel stands at.")
@tls_options
def printbox(device_id: str | None, broker_url: str, workdir: Path, cups_host: str | None, claim_token: str | None,
             hub_url: str | None, username: str | None, password: str | None, panel: str | None,
             panel_printer: str | None, ca_file: Path | None, cert_file: Path | None, key_file: Path | None) -> None:
    """Run a print box: reports its CUPS printers to the hub."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tls = tls_from_options(ca_file=ca_file, cert_file=cert_file, key_file=key_file)
    try:
        ident = resolve_identity(workdir=workdir, kind="print_box", device_id=device_id, broker_url=broker_url,
                                 username=username, password=password, claim_token=claim_token, hub_url=hub_url,
                                 tls=tls)
    except ClaimFailed as exc:
        raise click.ClickException(str(exc)) from exc
    device_id, broker_url, username, password = ident.device_id, ident.broker_url, ident.username, ident.password
    box = PrintBox(device_id=device_id, broker_url=broker_url, workdir=workdir,
                   printers=CupsPrinterSource(host=cups_host), username=username, password=password, tls=ident.tls)
    box.agent.fleet.capture_logging()  # this process is this device: fetch_logs sees its log

    def start() -> None:
        box.start()
        if panel is not None:
            stream = sys.stdin if panel == "stdin" else open(panel, encoding="utf-8", errors="replace")  # noqa: SIM115
            release = ReleasePanel(agent=box.agent, out=sys.stdout, queue=panel_printer)
            threading.Thread(target=release.run, args=(stream,), name="release-panel", daemon=True).start()

    run_until_signal(start, box.stop, f"print box {device_id} on {broker_url}")
