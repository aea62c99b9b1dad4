"""Print-box pure parts: print options → CUPS keywords, and the job ledger that makes the box
idempotent on job id (a real SQLite file in tmp_path)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devices.print_box.cups_options import InvalidPrintOptions, PrintOptions, to_cups_options
from devices.print_box.ledger import JobLedger
from devices.print_box.reachability import ReachabilityProbe, endpoint
from devices.print_box.watchdog import fault_code


def test_defaults_state_colour_and_sides_explicitly() -> None:
    assert to_cups_options(PrintOptions()) == {"copies": "1", "sides": "one-sided",
                                               "print-color-mode": "monochrome"}


def test_all_options_map_to_ipp_keywords() -> None:
    opts = PrintOptions(copies=3, duplex=True, color=True, page_ranges="1-3, 5", media="iso_a4_210x297mm")
    assert to_cups_options(opts, hold=True) == {
        "copies": "3", "sides": "two-sided-long-edge", "print-color-mode": "color", "page-ranges": "1-3,5",
        "media": "iso_a4_210x297mm", "job-hold-until": "indefinite"}


@pytest.mark.parametrize("opts", [PrintOptions(copies=0), PrintOptions(copies=1000),
                                  PrintOptions(page_ranges="1-"), PrintOptions(page_ranges="a"),
                                  PrintOptions(media="A4; rm -rf /"), PrintOptions(media="")])
def test_bad_options_are_refused_before_cups(opts: PrintOptions) -> None:
    with pytest.raises(InvalidPrintOptions):
        to_cups_options(opts)


def test_ledger_claims_once_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    ledger = JobLedger(path)
    assert ledger.claim("j1", "q") is True
    assert ledger.claim("j1", "q") is False  # a redelivered offer is not printed twice
    ledger.update("j1", state="sent", cups_job_id=41, reported="sent", reasons="none")
    ledger.claim("j2", "q")
    ledger.close()

    again = JobLedger(path)  # the box restarted
    try:
        entry = again.get("j1")
        assert entry is not None and (entry.state, entry.cups_job_id, entry.reported) == ("sent", 41, "sent")
        assert again.claim("j1", "q") is False
        assert sorted(e.job_id for e in again.active()) == ["j1", "j2"]
        again.update("j1", state="completed")
        again.update("j2", state="failed")
        assert again.active() == []
        assert again.claim("j2", "q") is True  # a failed job may be offered again
        assert again.get("j2").state == "claimed"  # type: ignore[union-attr]
        assert set(again.known_ids()) == {"j1", "j2"}
        assert again.get("nope") is None
    finally:
        again.close()


def test_fault_codes_from_cups_reasons() -> None:
    from devices.print_box.ports import PrinterStatus

    def code(state: str, *reasons: str) -> str | None:
        return fault_code(PrinterStatus(name="q", state=state, reasons=list(reasons)))

    assert code("idle") is None
    assert code("idle", "media-empty-error") == "printer_paper_out"
    assert code("idle", "media-empty-warning") is None  # a warning is not a fault
    assert code("stopped", "paused") == "printer_queue_paused"
    assert code("stopped") == "printer_stopped"
    assert code("idle", "offline-report") == "printer_offline"


@pytest.mark.parametrize(("uri", "ep"), [
    ("ipp://10.0.0.5/ipp/print", ("10.0.0.5", 631)), ("ipps://printer.local:8631/ipp", ("printer.local", 8631)),
    ("socket://192.168.1.9", ("192.168.1.9", 9100)), ("lpd://user:secret@host/queue", ("host", 515)),
    ("usb://HP/LaserJet?serial=1", None), ("cups-pdf:/", None), ("file:///dev/null", None), ("ipp://", None),
    ("ipp://[::1", None)])
def test_network_endpoints_of_device_uris(uri: str, ep: tuple[str, int] | None) -> None:
    assert endpoint(uri) == ep


def test_probe_sees_a_listening_printer_and_a_closed_port() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        probe = ReachabilityProbe(timeout_s=1, cache_s=0)
        assert probe.reachable(f"ipp://127.0.0.1:{port}/ipp/print") is True
    assert probe.reachable(f"ipp://127.0.0.1:{port}/ipp/print") is False  # closed now
    assert probe.reachable("usb://HP/LaserJet") is None
    cached = ReachabilityProbe(timeout_s=1, cache_s=3600)
    assert cached.reachable(f"socket://127.0.0.1:{port}") is False
