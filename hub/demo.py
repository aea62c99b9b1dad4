"""`officehub demo`: the hub with its embedded broker and SQLite, plus a simulated fleet."""

from __future__ import annotations

import logging
import threading

import uvicorn

from firmware_sim.fleet import SimFleet
from hub.api.app import create_app, ensure_admin
from hub.broker.embedded import BrokerStartError, port_is_free
from hub.runtime import HubRuntime, build_runtime
from hub.settings import Settings

log = logging.getLogger("officehub.demo")

DEMO_SEEDERS: list = []  # features append callables (rt) -> None that add demo data


def banner(settings: Settings, rt: HubRuntime, fleet: SimFleet) -> str:
    assert settings.admin_password is not None
    url = f"http://{settings.http_host}:{settings.http_port}"
    return "\n".join([
        "",
        "=" * 72,
        "  OfficeHub demo is running",
        f"  Console:      {url}/",
        f"  API docs:     {url}/docs",
        f"  Login:        admin / {settings.admin_password.get_secret_value()}",
        f"  MQTT broker:  {rt.broker_url} (embedded)",
        f"  Fleet:        {len(fleet.doors)} door terminals, {len(fleet.printboxes)} print boxes (simulated)",
        f"  Data:         {settings.data_dir.resolve()}",
        "  Stop:         Ctrl-C",
        "=" * 72,
        "",
    ])


def run_demo(settings: Settings, *, doors: int, printboxes: int, seed: int) -> int:
    if not port_is_free(settings.http_host, settings.http_port):
        log.error("port %s is in use: stop what runs there or pass --port", settings.http_port)
        return 2
    try:
        rt = build_runtime(settings)
    except BrokerStartError as exc:
        log.error("%s", exc)
        return 2
    ensure_admin(rt)
    for seeder in DEMO_SEEDERS:
        seeder(rt)
    rt.start()
    fleet = SimFleet(broker_url=rt.broker_url, doors=doors, printboxes=printboxes, seed=seed,
                     workdir=settings.data_dir / "sim", heartbeat_s=10)
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=rt), host=settings.http_host,
                                           port=settings.http_port, log_level="warning"))

    def announce() -> None:
        fleet.start()
        while not server.started and not server.should_exit:
            threading.Event().wait(0.1)
        if server.started:
            print(banner(settings, rt, fleet), flush=True)

    threading.Thread(target=announce, name="demo-announce", daemon=True).start()
    try:
        server.run()  # returns on Ctrl-C / SIGTERM
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the captured Ctrl-C after its graceful shutdown
    finally:
        log.info("stopping the simulated fleet and the hub")
        fleet.stop()
        rt.stop()
    return 0
