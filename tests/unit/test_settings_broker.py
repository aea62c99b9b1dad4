"""Outside demo mode the hub needs a broker URL: the embedded broker lets anyone in."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.settings import ConfigError, load_settings

SECRETS = {"secret_key": "s" * 40, "template_key": "dGVzdA==", "admin_password": "x" * 12}


def test_production_without_a_broker_url_is_refused_naming_the_setting(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OFFICEHUB_BROKER_URL", raising=False)
    with pytest.raises(ConfigError, match="OFFICEHUB_BROKER_URL"):
        load_settings(mode="production", data_dir=tmp_path, **SECRETS)


def test_production_with_a_broker_url_and_demo_without_one_start(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OFFICEHUB_BROKER_URL", raising=False)
    prod = load_settings(mode="production", data_dir=tmp_path, broker_url="mqtt://mosquitto:1883", **SECRETS)
    assert prod.broker_url == "mqtt://mosquitto:1883"
    assert load_settings(mode="demo", data_dir=tmp_path).broker_url is None
