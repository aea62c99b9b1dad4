"""Broker accounts for provisioned devices: Mosquitto dynsec, or the documented demo mode.

Demo mode (no ``broker_admin_username``): the embedded amqtt broker accepts anonymous clients, so a
claimed device gets no broker account and no ACL. The claim response says so (``broker_auth:
"none"``); production runs Mosquitto with dynsec, where each device may use only its own subtree.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Literal, Protocol

from hub.broker.mosquitto_security import (
    DEVICE_NAMESPACE,
    AccountConflict,
    BrokerSecurityError,
    MosquittoDynsec,
    in_device_namespace,
)
from hub.settings import Settings
from hub.tls import broker_tls
from protocol.broker_tls import TlsSettings, parse_broker_url

BrokerAuth = Literal["dynsec", "none"]
__all__ = ["AccountConflict", "BrokerAccounts", "BrokerSecurityError", "DemoAccounts", "DynsecAccounts",
           "accounts_for"]


class BrokerAccounts(Protocol):
    mode: BrokerAuth

    def create_device(self, device_id: str, password: str, *, replace: bool = False) -> str | None:
        """Give the device its account; return the broker username (None: no broker auth)."""
        ...

    def revoke_device(self, device_id: str) -> None: ...
    def close(self) -> None: ...


class DemoAccounts:
    """No broker authentication: nothing to write, nothing to cut off at the broker."""

    mode: BrokerAuth = "none"

    def create_device(self, device_id: str, password: str, *, replace: bool = False) -> str | None:
        return None

    def revoke_device(self, device_id: str) -> None:
        return None

    def close(self) -> None:
        return None


class DynsecAccounts:
    """Writes device accounts through one lazily opened dynsec admin connection (reopened on error)."""

    mode: BrokerAuth = "dynsec"

    def __init__(self, *, host: str, port: int, admin_user: str, admin_password: str,
                 tls: TlsSettings | None = None) -> None:
        self._args = {"host": host, "port": port, "admin_user": admin_user, "admin_password": admin_password,
                      "tls": tls}
        self._client: MosquittoDynsec | None = None
        self._lock = threading.Lock()

    def _admin(self) -> MosquittoDynsec:
        if self._client is None:
            self._client = MosquittoDynsec(**self._args)  # type: ignore[arg-type]  # **dict loses per-keyword types
        return self._client

    def _run(self, fn_name: str, *args: str, **kwargs: object) -> object:
        with self._lock:
            try:
                return getattr(self._admin(), fn_name)(*args, **kwargs)
            except AccountConflict:
                raise  # a refusal, not a broken admin connection
            except BrokerSecurityError:
                self._reset()
                raise
            except OSError as exc:
                self._reset()
                raise BrokerSecurityError(fn_name, f"broker unreachable: {exc}") from exc

    def _reset(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # already broken; we only drop it
                self._client.close()
            self._client = None

    def create_device(self, device_id: str, password: str, *, replace: bool = False) -> str | None:
        return str(self._run("create_device", device_id, password, replace=replace))

    def ensure_hub_account(self, username: str, password: str) -> None:
        """Create (or update) the hub's own MQTT account with the hub role: read and write under
        ``office/v1/#``. The dynsec admin cannot be it: that account may subscribe but not publish,
        and Mosquitto disconnects a client whose roles change, so it cannot grant itself more."""
        if username == self._args["admin_user"]:
            raise BrokerSecurityError("ensure_hub_account", f"broker_username {username!r} is the dynsec admin, "
                                      "which may not publish; give the hub its own account name and password")
        if in_device_namespace(username) or in_device_namespace(str(self._args["admin_user"])):
            raise AccountConflict("ensure_hub_account", f"broker account names starting with {DEVICE_NAMESPACE!r} "
                                  "are reserved for devices; rename the hub or the dynsec admin account")
        self._run("create_hub_account", username, password)

    def revoke_device(self, device_id: str) -> None:
        self._run("revoke_device", device_id)

    def close(self) -> None:
        with self._lock:
            self._reset()


def accounts_for(settings: Settings, broker_url: str) -> BrokerAccounts:
    if not settings.broker_admin_username or settings.broker_admin_password is None:
        return DemoAccounts()
    addr = parse_broker_url(broker_url)
    # The admin link carries every device password: over TLS whenever the hub's own link is.
    return DynsecAccounts(host=addr.host, port=addr.port, admin_user=settings.broker_admin_username,
                          admin_password=settings.broker_admin_password.get_secret_value(),
                          tls=(broker_tls(settings) or TlsSettings()) if addr.tls else None)
