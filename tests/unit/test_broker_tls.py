"""The shared broker URL + TLS helper (protocol/broker_tls.py) and the hub's TLS settings: every
mistake is refused at start with the file or setting named, and the hub's own URLs follow HTTPS."""

from __future__ import annotations

import ssl
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.certs import load_or_create_ca, make_site_certs
from hub.cli import main
from hub.settings import ConfigError, load_settings
from protocol.broker_tls import BrokerAddress, TlsConfigError, TlsSettings, parse_broker_url
from tests.fixtures.tls import TlsFiles, make_tls_files

SECRETS = {"secret_key": "s" * 40, "template_key": "dGVzdA==", "admin_password": "x" * 12}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsFiles]:
    yield make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OFFICEHUB_BROKER_URL", "OFFICEHUB_PUBLIC_URL", "OFFICEHUB_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("url", "expected"), [
    ("mqtt://broker", BrokerAddress("broker", 1883, False)),
    ("mqtts://broker", BrokerAddress("broker", 8883, True)),
    ("mqtts://broker.example:18883", BrokerAddress("broker.example", 18883, True)),
    ("MQTTS://10.0.0.5", BrokerAddress("10.0.0.5", 8883, True)),
    ("tcp://broker:1884", BrokerAddress("broker", 1884, False)),
])
def test_broker_urls(url: str, expected: BrokerAddress) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize("url", ["http://broker:1883", "mqtts://", "broker:1883", "mqtt://broker:notaport"])
def test_bad_broker_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="broker URL"):
        parse_broker_url(url)


def test_contexts_verify_and_check_host_names_by_default(files: TlsFiles) -> None:
    for tls in (TlsSettings(), TlsSettings(ca_file=files.ca), TlsSettings(ca_pem=files.ca.read_text())):
        ctx = tls.client_context()
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
        assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    pinned = TlsSettings(ca_file=files.ca).client_context()
    assert len(pinned.get_ca_certs()) == 1  # a private CA pins the broker: no system roots
    assert not TlsSettings(ca_file=files.ca, check_hostname=False).client_context().check_hostname


def test_unusable_files_are_named(files: TlsFiles, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(TlsConfigError, match=r"nope\.pem"):
        TlsSettings(ca_file=missing).client_context()
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(TlsConfigError, match=r"junk\.pem"):
        TlsSettings(ca_file=junk).client_context()
    with pytest.raises(TlsConfigError, match="both"):
        TlsSettings(cert_file=files.client_cert).client_context()
    with pytest.raises(TlsConfigError, match="does the key match"):  # the key of another certificate
        TlsSettings(cert_file=files.client_cert, key_file=files.server_key).client_context()
    with pytest.raises(TlsConfigError, match="claim time"):
        TlsSettings(ca_pem="garbage").client_context()


def _settings(tmp_path: Path, **kw: object) -> object:
    return load_settings(mode="production", data_dir=tmp_path, broker_url="mqtts://broker:8883", **SECRETS, **kw)


def test_hub_https_needs_both_files_and_readable_ones(files: TlsFiles, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OFFICEHUB_TLS_KEYFILE"):
        _settings(tmp_path, tls_certfile=files.server_cert)
    with pytest.raises(ConfigError, match="OFFICEHUB_TLS_CERTFILE"):
        _settings(tmp_path, tls_keyfile=files.server_key)
    with pytest.raises(ConfigError, match=r"missing\.pem"):
        _settings(tmp_path, tls_certfile=tmp_path / "missing.pem", tls_keyfile=files.server_key)
    with pytest.raises(ConfigError, match="does the key match"):
        _settings(tmp_path, tls_certfile=files.server_cert, tls_keyfile=files.client_key)


def test_hub_urls_say_https_when_it_serves_https(files: TlsFiles, tmp_path: Path) -> None:
    s = load_settings(mode="demo", data_dir=tmp_path, tls_certfile=files.server_cert, tls_keyfile=files.server_key,
                      http_port=8443)
    assert s.base_url == "https://127.0.0.1:8443"  # claim responses, signed download and firmware URLs
    assert load_settings(mode="demo", data_dir=tmp_path).base_url.startswith("http://")
    with pytest.raises(ConfigError, match="OFFICEHUB_PUBLIC_URL"):
        load_settings(mode="demo", data_dir=tmp_path, tls_certfile=files.server_cert,
                      tls_keyfile=files.server_key, public_url="http://hub.example:8443")


def test_broker_tls_settings(files: TlsFiles, tmp_path: Path) -> None:
    ok = _settings(tmp_path, broker_ca_file=files.ca, broker_certfile=files.client_cert,
                   broker_keyfile=files.client_key)
    assert ok.broker_ca_file == files.ca  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="mqtts://"):  # a CA next to a plain URL: not encrypted
        load_settings(mode="production", data_dir=tmp_path, broker_url="mqtt://broker:1883",
                      broker_ca_file=files.ca, **SECRETS)
    with pytest.raises(ConfigError, match="OFFICEHUB_BROKER_KEYFILE"):
        _settings(tmp_path, broker_certfile=files.client_cert)
    junk = tmp_path / "device-ca.pem"
    junk.write_text("nothing here")
    with pytest.raises(ConfigError, match=r"device-ca\.pem"):
        _settings(tmp_path, device_ca_file=junk)


def test_certs_keep_the_ca_and_protect_keys(tmp_path: Path) -> None:
    out, ca_dir = tmp_path / "certs", tmp_path / "ca"
    make_site_certs(out=out, ca_dir=ca_dir, hosts=["officehub.example.internal", "10.1.2.3"], clients=["door-1"])
    first_ca = (out / "ca.pem").read_bytes()
    for key in (out / "server.key", out / "clients" / "door-1.key", ca_dir / "ca.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not (out / "ca.key").exists()  # the mounted folder never holds the CA's key
    make_site_certs(out=out, ca_dir=ca_dir, hosts=["other.example"])
    assert (out / "ca.pem").read_bytes() == first_ca  # renewing never makes devices distrust the site
    assert load_or_create_ca(ca_dir)[1] is False
    with pytest.raises(ValueError, match="client name"):
        make_site_certs(out=out, ca_dir=ca_dir, clients=["../escape"])


def test_certs_command(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["certs", "--out", str(tmp_path / "c"), "--ca-dir", str(tmp_path / "ca"),
                                    "--host", "officehub.example.internal"])
    assert res.exit_code == 0, res.output
    assert "created the CA" in res.output and (tmp_path / "c" / "server.pem").exists()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "c" / "server.pem", tmp_path / "c" / "server.key")


def test_serve_refuses_a_certificate_without_its_key(files: TlsFiles, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["serve", "--broker", "mqtts://broker:8883", "--data-dir", str(tmp_path),
                                    "--tls-certfile", str(files.server_cert)],
                             env={"OFFICEHUB_MODE": "demo"})
    assert res.exit_code != 0 and "OFFICEHUB_TLS_KEYFILE" in res.output
