"""The server fixtures survive a port taken between choosing it and binding it (seen under load)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.fixtures.brokers import MosquittoBroker, listening_socket, owns_listener
from tests.fixtures.hub_http import HttpHub


def test_mosquitto_moves_to_a_new_port_when_its_port_was_taken_and_restarts_on_it(tmp_path: Path) -> None:
    with listening_socket() as squatter:
        taken = int(squatter.getsockname()[1])
        broker = MosquittoBroker(tmp_path, port=taken)
        broker.start()
        try:
            assert broker.proc is not None and broker.port != taken
            assert owns_listener(broker.proc.pid, broker.port)
            port = broker.port
            broker.restart()  # clients know the port now: a restart keeps it
            assert broker.port == port and broker.proc is not None and owns_listener(broker.proc.pid, port)
        finally:
            broker.stop()


def test_http_hub_holds_its_port_from_the_start_and_gets_it_back_on_restart(tmp_path: Path,
                                                                          mosquitto: MosquittoBroker) -> None:
    hub = HttpHub(data_dir=tmp_path / "hub", broker_url=mosquitto.url)
    port = hub.port
    hub.start()
    try:
        assert httpx.get(f"{hub.url}/healthz", timeout=10).status_code == 200
        hub.restart()
        assert hub.port == port and httpx.get(f"{hub.url}/healthz", timeout=10).status_code == 200
    finally:
        hub.stop()
