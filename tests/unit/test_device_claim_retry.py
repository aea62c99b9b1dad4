"""A device claiming while the hub throttles its address waits as told (Retry-After), within a bound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from devices.runtime import claim as claim_mod
from devices.runtime.claim import ClaimFailed, claim_device

OK = {"device_id": "door-1", "kind": "door_terminal", "broker_auth": "dynsec", "hub_url": "http://hub",
      "firmware_public_key": "k", "mqtt": {"url": "mqtt://b:1883", "client_id": "door-1",
                                           "username": "device:door-1", "password": "pw"}}


def _replies(monkeypatch: pytest.MonkeyPatch, replies: list[httpx.Response]) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(claim_mod.httpx, "post", lambda *a, **k: replies.pop(0))
    monkeypatch.setattr(claim_mod.time, "sleep", slept.append)
    return slept


def _throttled(after: str) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": after}, json={"detail": "too many failed claims"})


def test_throttled_claim_is_retried_after_the_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slept = _replies(monkeypatch, [_throttled("7"), httpx.Response(200, json=OK)])
    creds = claim_device(hub_url="http://hub", token="ohc_x", workdir=tmp_path, kind="door_terminal")
    assert slept == [7.0] and creds.username == "device:door-1"


def test_a_wait_beyond_the_bound_gives_up_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slept = _replies(monkeypatch, [_throttled("3600")])
    with pytest.raises(ClaimFailed, match="429"):
        claim_device(hub_url="http://hub", token="ohc_x", workdir=tmp_path, kind="door_terminal", max_wait_s=60)
    assert slept == []


def test_other_refusals_are_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    def post(*args: Any, **kwargs: Any) -> httpx.Response:
        calls.append(args)
        return httpx.Response(403, json={"detail": "claim refused"})

    monkeypatch.setattr(claim_mod.httpx, "post", post)
    with pytest.raises(ClaimFailed, match="refused"):
        claim_device(hub_url="http://hub", token="ohc_x", workdir=tmp_path, kind="door_terminal")
    assert len(calls) == 1
