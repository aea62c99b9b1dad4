"""Which addresses webhooks may reach (the allow-list) and where a delivery really connects."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from hub.domain.webhook_targets import AllowList, TargetRefused, address_kind
from hub.services.fleet.webhook_targets import resolve_target
from hub.settings import ConfigError, load_settings


@pytest.mark.parametrize(("ip", "kind"), [
    ("93.184.216.34", None), ("2606:2800:220:1::", None),
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("fd12::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"),
    ("224.0.0.251", "multicast"), ("100.64.0.1", "non-public"),
])
def test_address_kind(ip: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(ip)) == kind


def test_allow_list_entries() -> None:
    allow = AllowList.parse(["hooks.lan", "*.corp.example", "10.20.0.0/16", "192.168.1.5", " ", "HOOKS2.lan."])
    ip = ipaddress.ip_address
    allow.check(host="hooks.lan", addresses=[ip("192.168.7.7")])  # a listed name, wherever it points
    allow.check(host="HOOKS2.lan", addresses=[ip("10.9.9.9")])
    allow.check(host="a.b.corp.example", addresses=[ip("10.9.9.9")])
    allow.check(host="x", addresses=[ip("10.20.3.4"), ip("192.168.1.5"), ip("93.184.216.34")])
    with pytest.raises(TargetRefused, match="private address"):
        allow.check(host="corp.example", addresses=[ip("10.9.9.9")])  # *.domain is for names under it
    with pytest.raises(TargetRefused, match=r"x \(10\.21\.0\.1\)"):
        allow.check(host="x", addresses=[ip("93.184.216.34"), ip("10.21.0.1")])  # every address must pass
    AllowList.parse(["*"]).check(host="x", addresses=[ip("127.0.0.1")])
    with pytest.raises(ValueError, match="not a host name"):
        AllowList.parse(["http://hooks.lan/"])


def test_the_setting_takes_a_comma_separated_list_and_refuses_bad_entries(tmp_path: Path) -> None:
    s = load_settings(mode="demo", data_dir=tmp_path, webhook_allowed_hosts="10.0.0.0/8, hooks.lan")
    assert s.webhook_allowed_hosts == ["10.0.0.0/8", "hooks.lan"]
    assert load_settings(mode="demo", data_dir=tmp_path).webhook_allowed_hosts == []
    with pytest.raises(ConfigError, match="webhook_allowed_hosts"):
        load_settings(mode="demo", data_dir=tmp_path, webhook_allowed_hosts="10.0.0.0/33")


def test_a_delivery_connects_to_the_address_that_was_checked() -> None:
    allow = AllowList.parse([])
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return ["93.184.216.34", "2606:2800:220:1::"]

    t = resolve_target("https://Hooks.Example.com/a/b?c=1", allow=allow, resolve=resolve)
    assert calls == [("hooks.example.com", 443)]
    assert str(t.url) == "https://93.184.216.34/a/b?c=1"
    assert t.host_header == "hooks.example.com" and t.extensions() == {"sni_hostname": "hooks.example.com"}
    t = resolve_target("http://hooks.example.com:8080/x", allow=allow, resolve=resolve)
    assert str(t.url) == "http://93.184.216.34:8080/x" and t.host_header == "hooks.example.com:8080"
    assert t.extensions() == {}
    with pytest.raises(TargetRefused, match="loopback"):
        resolve_target("http://[::1]:8080/x", allow=allow, resolve=resolve)
    with pytest.raises(TargetRefused, match="cannot resolve"):
        resolve_target("http://nowhere/x", allow=allow, resolve=lambda h, p: [])
    with pytest.raises(TargetRefused, match="not an http"):
        resolve_target("ftp://hooks.example.com/x", allow=allow, resolve=resolve)
