"""`officehub demo`: the hub with its embedded broker and SQLite, plus a simulated fleet.

The fleet runs in a process of its own (``python -m firmware_sim``), as real devices are other
machines: a device-side fault (the simulated terminals run dlib too) can never take the hub down.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

import uvicorn

from hub.api.app import create_app, ensure_admin, warm_face_engine
from hub.broker.embedded import BrokerStartError, port_is_free
from hub.features import FEATURES
from hub.runtime import HubRuntime, build_runtime
from hub.services.face.demo import demo_face_dataset
from hub.settings import Settings

log = logging.getLogger("officehub.demo")

def banner(settings: Settings, rt: HubRuntime, *, doors: int, printboxes: int) -> str:
    assert settings.admin_password is not None
    scheme = "https" if settings.tls_certfile is not None else "http"
    url = f"{scheme}://{settings.http_host}:{settings.http_port}"
    return "\n".join([
        "",
        "=" * 72,
        "  OfficeHub demo is running",
        f"  Console:      {url}/",
        f"  API docs:     {url}/docs",
        f"  Login:        admin / {settings.admin_password.get_secret_value()}",
        f"  MQTT broker:  {rt.broker_url} (embedded)",
        f"  Fleet:        {doors} door terminals, {printboxes} print boxes (simulated, own process)",
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
        rt = build_runtime(settings, features=FEATURES)
    except BrokerStartError as exc:
        log.error("%s", exc)
        return 2
    ensure_admin(rt)
    ctx = rt.context()
    for feature in rt.features:
        if feature.demo_seed is not None:
            feature.demo_seed(ctx)
    rt.start()
    warm_face_engine(rt)
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=rt), host=settings.http_host,
                                           port=settings.http_port, log_level="warning",
                                           ssl_certfile=settings.tls_certfile, ssl_keyfile=settings.tls_keyfile))
    fleet: subprocess.Popen[bytes] | None = None

    def announce() -> None:
        nonlocal fleet
        fleet = start_sim_fleet(broker_url=rt.broker_url, doors=doors, printboxes=printboxes, seed=seed,
                                workdir=settings.data_dir / "sim", face_dataset=demo_face_dataset(settings))
        while not server.started and not server.should_exit:
            threading.Event().wait(0.1)
        if server.started:
            print(banner(settings, rt, doors=doors, printboxes=printboxes), flush=True)

    threading.Thread(target=announce, name="demo-announce", daemon=True).start()
    try:
        server.run()  # returns on Ctrl-C / SIGTERM
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the captured Ctrl-C after its graceful shutdown
    finally:
        log.info("stopping the simulated fleet and the hub")
        if fleet is not None:
            stop_sim_fleet(fleet)
        rt.stop()
    return 0


def start_sim_fleet(*, broker_url: str, doors: int, printboxes: int, seed: int, workdir: Path,
                    face_dataset: Path | None = None) -> subprocess.Popen[bytes]:
    """``face_dataset``: also an edge and a thin face terminal walking through its probe photos."""
    workdir.mkdir(parents=True, exist_ok=True)
    faces = ["--face-dataset", str(face_dataset)] if face_dataset is not None else []
    return subprocess.Popen(
        [sys.executable, "-m", "firmware_sim", "--broker", broker_url, "--doors", str(doors),
         "--printboxes", str(printboxes), "--seed", str(seed), "--workdir", str(workdir), "--heartbeat-s", "10",
         *faces], stdin=subprocess.DEVNULL)


def stop_sim_fleet(fleet: subprocess.Popen[bytes]) -> None:
    """SIGTERM: every simulated device says goodbye (offline) before the broker goes away."""
    if fleet.poll() is None:
        fleet.terminate()
        try:
            fleet.wait(timeout=20)
        except subprocess.TimeoutExpired:
            log.warning("the simulated fleet did not stop in 20 s: killed")
            fleet.kill()
            fleet.wait()
