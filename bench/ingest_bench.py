"""Event ingest throughput: the hub (QoS 1, persisted, acked) vs a do-nothing paho subscriber.

Both consumers drain the same kind of backlog from the same private Mosquitto (DESIGN §9 settings):
N events are queued for a persistent session while the consumer is away, then the consumer connects
and we time until it has received (subscriber) or stored (hub) all N. Draining a backlog measures the
consumer, not the publisher's speed. The hub runs in this process with its real runtime (paho
ingest thread, batched writer, SQLite WAL on disk); the figures are side by side in one run.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from hub.runtime import build_runtime
from hub.settings import load_settings
from protocol import payloads as p
from protocol import topics
from tests.fixtures.brokers import MosquittoBroker

SUBSCRIBER_ID = "bench-do-nothing"
HUB_ID = "bench-hub"


def _client(port: int, client_id: str, *, clean: bool) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    return c


def _publish_backlog(port: int, devices: list[str], n: int) -> None:
    """Publish from a separate process so the timed consumer in this one shares nothing with it."""
    code = ("import sys; from bench.ingest_bench import _publish_backlog_here as f; "
            f"f({port}, {devices!r}, {n})")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def _publish_backlog_here(port: int, devices: list[str], n: int) -> None:
    pub = _client(port, "bench-publisher", clean=True)
    pub.loop_start()
    now = datetime.now(UTC)
    last = None
    for i in range(n):
        dev = devices[i % len(devices)]
        ev = p.Event(event_id=p.new_id(), seq=i // len(devices) + 1, type="test", device_ts=now, boot_id="bench",
                     data={"n": i, "note": "bench"})
        last = pub.publish(topics.events(dev), ev.to_bytes(), qos=1)
    assert last is not None
    last.wait_for_publish(120)
    pub.loop_stop()
    pub.disconnect()


def _register_session(port: int, client_id: str) -> None:
    """Create a persistent session subscribed to device events, then leave."""
    c = _client(port, client_id, clean=False)
    c.loop_start()
    c.subscribe(f"{topics.DEVICES}/#", qos=1)
    time.sleep(0.3)
    c.loop_stop()
    c.disconnect()


def _do_nothing_rate(port: int, n: int) -> float:
    received = 0
    done = threading.Event()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal received
        if msg.topic.endswith("/events"):
            received += 1
            if received >= n:
                done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=SUBSCRIBER_ID, clean_session=False)
    c.on_message = on_message
    t0 = time.monotonic()
    c.connect("127.0.0.1", port)
    c.loop_start()
    if not done.wait(300):
        raise RuntimeError(f"do-nothing subscriber got {received} of {n}")
    elapsed = time.monotonic() - t0
    c.loop_stop()
    c.disconnect()
    return n / elapsed


def _hub_rate(port: int, n: int, devices: list[str], workdir: Path) -> dict[str, Any]:
    settings = load_settings(mode="demo", data_dir=workdir / "hub", broker_url=f"mqtt://127.0.0.1:{port}",
                             hub_client_id=HUB_ID)
    # Register the devices (their retained birth messages), then let the hub's session collect the backlog.
    pub = _client(port, "bench-birth", clean=True)
    pub.loop_start()
    for dev in devices:
        info = p.DeviceInfo(kind=p.DeviceKind.DOOR_TERMINAL, model="bench", firmware="1", boot_id="bench")
        pub.publish(topics.info(dev), info.to_bytes(), qos=1, retain=True).wait_for_publish(10)
    pub.loop_stop()
    pub.disconnect()
    _register_session(port, HUB_ID)
    rt = build_runtime(settings, features=[])
    rt.start()
    deadline = time.monotonic() + 30
    while len_devices(rt) < len(devices) and time.monotonic() < deadline:
        time.sleep(0.05)
    rt.stop()
    _publish_backlog(port, devices, n)
    rt = build_runtime(settings, migrate=False, features=[])
    t0 = time.monotonic()
    rt.start()
    while rt.writer.stats.events_stored < n:
        if time.monotonic() - t0 > 600:
            raise RuntimeError(f"hub stored {rt.writer.stats.events_stored} of {n}")
        time.sleep(0.01)
    elapsed = time.monotonic() - t0
    stats = rt.writer.stats
    rt.stop()
    return {"rate": n / elapsed, "batches": stats.batches, "duplicates": stats.duplicates,
            "dead_letters": stats.dead_letters}


def len_devices(rt: Any) -> int:
    from sqlalchemy import func, select

    from hub.db.models.core import Device

    with rt.sessions() as s:
        return int(s.execute(select(func.count()).select_from(Device)).scalar_one())


def bench_ingest(n: int = 20_000, devices: int = 20, rounds: int = 3) -> dict[str, Any]:
    """Interleave the two consumers ``rounds`` times and report medians (the machine is shared)."""
    ids = [f"bench-door-{i:03d}" for i in range(devices)]
    sub_rates: list[float] = []
    hub_rates: list[float] = []
    last: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        (work / "mosq").mkdir()
        broker = MosquittoBroker(work / "mosq", persistence=False)
        broker.start()
        try:
            for r in range(rounds):
                _register_session(broker.port, SUBSCRIBER_ID)
                _publish_backlog(broker.port, ids, n)
                sub_rates.append(_do_nothing_rate(broker.port, n))
                (work / f"round{r}").mkdir()
                last = _hub_rate(broker.port, n, ids, work / f"round{r}")
                hub_rates.append(last["rate"])
        finally:
            broker.stop()
    sub, hub = statistics.median(sub_rates), statistics.median(hub_rates)
    return {
        "events_per_round": n,
        "devices": devices,
        "rounds": rounds,
        "database": "SQLite (WAL) on local disk",
        "broker": "Mosquitto 2 (max_queued_messages 0, max_inflight_messages 0)",
        "subscriber_events_per_s": round(sub),
        "hub_events_per_s": round(hub),
        "ratio_vs_subscriber": round(hub / sub, 3),
        "subscriber_rounds": [round(x) for x in sub_rates],
        "hub_rounds": [round(x) for x in hub_rates],
        "hub_duplicates_last_round": last.get("duplicates"),
        "hub_dead_letters_last_round": last.get("dead_letters"),
    }


if __name__ == "__main__":
    print(json.dumps(bench_ingest(), indent=2))
