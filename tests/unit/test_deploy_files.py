"""docker-compose.yml validates (Debian's docker-compose checks it without an engine) and the
Mosquitto config keeps the settings that stop QoS 1 bursts from being dropped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed (`make test` installs it: scripts/test-env.sh)", pytrace=False)
    return exe


def test_compose_file_validates() -> None:
    exe = _compose()
    env = {**os.environ, "MQTT_ADMIN_PASSWORD": "x", "MQTT_HUB_PASSWORD": "y", "POSTGRES_PASSWORD": "x",
           "OFFICEHUB_SECRET_KEY": "x", "OFFICEHUB_TEMPLATE_KEY": "x", "OFFICEHUB_ADMIN_PASSWORD": "x"}
    res = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    services = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "--profile", "sim", "config",
                               "--services"], env=env, capture_output=True, text=True, timeout=60).stdout.split()
    assert {"mosquitto", "postgres", "hub", "cups", "firmware_sim"} <= set(services)
    # The hub must not run on the dynsec admin (it may not publish): its own account, created at start.
    hub_env = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config"], env=env,
                             capture_output=True, text=True, timeout=60).stdout
    assert "OFFICEHUB_BROKER_USERNAME: officehub-hub" in hub_env and 'OFFICEHUB_BROKER_PASSWORD: "y"' in hub_env


def test_compose_offers_tls_for_mqtt_and_https() -> None:
    exe = _compose()
    env = {**os.environ, "MQTT_ADMIN_PASSWORD": "x", "MQTT_HUB_PASSWORD": "y", "POSTGRES_PASSWORD": "x",
           "OFFICEHUB_SECRET_KEY": "x", "OFFICEHUB_TEMPLATE_KEY": "x", "OFFICEHUB_ADMIN_PASSWORD": "x"}
    res = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "--profile", "sim", "config"], env=env,
                         capture_output=True, text=True, timeout=60)
    services = yaml.safe_load(res.stdout)["services"]
    hub = services["hub"]["environment"]
    assert hub["OFFICEHUB_BROKER_URL"].startswith("mqtts://") and hub["OFFICEHUB_BROKER_CA_FILE"]
    assert hub["OFFICEHUB_TLS_CERTFILE"] and hub["OFFICEHUB_TLS_KEYFILE"]
    assert hub["OFFICEHUB_PUBLIC_URL"].startswith("https://")
    assert "https://" in " ".join(services["hub"]["healthcheck"]["test"])
    published = {str(p["published"]) if isinstance(p, dict) else str(p).split(":")[-2]
                 for p in services["mosquitto"]["ports"]}
    assert "8883" in published
    assert "--ca-file" in services["firmware_sim"]["command"]
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text().splitlines()
    tls = conf[conf.index("listener 8883 0.0.0.0"):]
    assert any(line.startswith("certfile ") for line in tls) and any(line.startswith("keyfile ") for line in tls)
    # The certificates are made per site, never committed.
    assert "/deploy/certs/" in (ROOT / ".gitignore").read_text().splitlines()


def test_compose_refuses_to_start_without_secrets() -> None:
    exe = _compose()
    env = {k: v for k, v in os.environ.items() if k not in {"MQTT_ADMIN_PASSWORD", "POSTGRES_PASSWORD"}}
    res = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "MQTT_ADMIN_PASSWORD" in res.stderr + res.stdout


def test_mosquitto_config_does_not_drop_bursts() -> None:
    conf = (ROOT / "deploy" / "mosquitto" / "mosquitto.conf").read_text().splitlines()
    assert "max_queued_messages 0" in conf and "max_inflight_messages 0" in conf
    assert "allow_anonymous false" in conf
