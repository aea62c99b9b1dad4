"""Per-device broker credentials and ACLs on Mosquitto's dynamic-security plugin.

The hub, as the dynsec admin client, publishes JSON commands to ``$CONTROL/dynamic-security/v1`` and
reads the answers on ``…/response``. Dynsec has no ``%c``/``%u`` substitution, so each device gets its
own role that names its own subtree; its account is bound to client id = device id, so no other
account can take over (kick) the device's session.

Device accounts and roles live in their own namespace, ``device:<device id>``: a device id cannot
contain ``:``, and the hub refuses a hub or admin account in that namespace, so no claim can name the
hub's or the admin's account. Device code here only ever writes inside the namespace. Accounts an
earlier release made (username = device id, role ``device-<id>``) are still recognised, replaced on
re-provisioning and deleted on revocation, but only when they hold nothing but that device's role.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from protocol import topics
from protocol.broker_tls import TlsSettings

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = CONTROL_TOPIC + "/response"
HUB_ROLE = "officehub-hub"


DEVICE_NAMESPACE = "device:"  # ":" is outside the device-id alphabet, so the mapping is one-to-one
LEGACY_ROLE_PREFIX = "device-"  # roles of accounts made before the namespace (username = device id)


class BrokerSecurityError(Exception):
    def __init__(self, command: str, error: str) -> None:
        super().__init__(f"broker security command {command!r} failed: {error}")
        self.command = command
        self.error = error


class AccountConflict(BrokerSecurityError):
    """The device id names an account this hub may not touch, or the device already has an account
    and replacing it was not asked for."""


class BrokerSecurity(Protocol):
    """What provisioning needs from a broker; Mosquitto dynsec implements it."""

    def create_device(self, device_id: str, password: str, *, replace: bool = False) -> str: ...
    def revoke_device(self, device_id: str) -> bool: ...
    def create_hub_account(self, username: str, password: str) -> None: ...


def _checked(device_id: str) -> str:
    if not topics.valid_device_id(device_id):
        raise ValueError(f"invalid device id {device_id!r}")
    return device_id


def device_username(device_id: str) -> str:
    """The broker account of a device (also its role's name): never a hub or admin account."""
    return DEVICE_NAMESPACE + _checked(device_id)


def device_role(device_id: str) -> str:
    return DEVICE_NAMESPACE + _checked(device_id)


def in_device_namespace(name: str) -> bool:
    return name.startswith(DEVICE_NAMESPACE)


def is_device_account(client: dict[str, Any], *, device_id: str, role: str) -> bool:
    """Made by the hub for this device: bound to its client id, holding its role and nothing else."""
    roles = {r.get("rolename") for r in client.get("roles", [])}
    return client.get("clientid") == device_id and roles == {role} and not client.get("groups")


def device_acls(device_id: str) -> list[dict[str, Any]]:
    """The device may send only device→hub channels of its own subtree and read only hub→device ones."""
    sends = [topics.availability(device_id), topics.info(device_id), topics.state(device_id),
             topics.heartbeat(device_id), topics.events(device_id), topics.command_ack(device_id),
             topics.request(device_id, "x").rsplit("/", 1)[0] + "/+"]
    reads = list(topics.device_subscriptions(device_id))  # cmd, events/ack, res/+
    acls: list[dict[str, Any]] = [{"acltype": "publishClientSend", "topic": t, "allow": True} for t in sends]
    for t in reads:
        acls.append({"acltype": "subscribeLiteral", "topic": t, "allow": True})
        acls.append({"acltype": "subscribePattern", "topic": t, "allow": True})
        acls.append({"acltype": "publishClientReceive", "topic": t, "allow": True})
    # Everything else the device might receive is refused, whatever the broker-wide default says.
    acls.append({"acltype": "publishClientReceive", "topic": "#", "allow": False, "priority": -1})
    return acls


def hub_acls() -> list[dict[str, Any]]:
    root = topics.ROOT + "/#"
    return [
        {"acltype": "publishClientSend", "topic": root, "allow": True},
        {"acltype": "publishClientReceive", "topic": root, "allow": True},
        {"acltype": "subscribePattern", "topic": root, "allow": True},
        # Hub replicas share device traffic through $share/<group>/office/v1/...
        {"acltype": "subscribePattern", "topic": "$share/+/" + root, "allow": True},
        {"acltype": "unsubscribePattern", "topic": "#", "allow": True},
    ]


class MosquittoDynsec:
    """Blocking admin client for the dynamic-security plugin (one command batch at a time)."""

    def __init__(self, *, host: str, port: int, admin_user: str, admin_password: str,
                 timeout_s: float = 10.0, tls: TlsSettings | None = None) -> None:
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._responses: queue.Queue[dict[str, Any]] = queue.Queue()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._connect_error: str | None = None
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                   client_id=f"officehub-dynsec-{uuid.uuid4().hex[:8]}")
        self._client.username_pw_set(admin_user, admin_password)
        if tls is not None:  # an mqtts:// broker (protocol/broker_tls.py: verified CA and host name)
            self._client.tls_set_context(tls.client_context())
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(timeout_s) or self._connect_error:
            self.close()
            raise BrokerSecurityError("connect", self._connect_error or f"no CONNACK from {host}:{port}")
        self._client.subscribe(RESPONSE_TOPIC, qos=1)
        if not self._subscribed.wait(timeout_s):
            self.close()
            raise BrokerSecurityError("subscribe", f"no SUBACK for {RESPONSE_TOPIC}")

    # paho callbacks only hand over; the caller thread does the work.
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode,
                    props: Any = None) -> None:
        if rc.is_failure:
            self._connect_error = f"admin login refused: {rc}"
        self._connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, rcs: list[ReasonCode],
                      props: Any = None) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(msg.payload)
        except ValueError:
            return
        for resp in body.get("responses", []):
            self._responses.put(resp)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> MosquittoDynsec:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, commands: Sequence[dict[str, Any]], *,
                tolerate: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Run commands in one batch; raise on the first error not containing a ``tolerate`` fragment."""
        with self._lock:
            tag = uuid.uuid4().hex
            cmds = [{**c, "correlationData": f"{tag}-{i}"} for i, c in enumerate(commands)]
            self._client.publish(CONTROL_TOPIC, json.dumps({"commands": cmds}), qos=1)
            pending = {c["correlationData"]: c for c in cmds}
            got: dict[str, dict[str, Any]] = {}
            while pending:
                try:
                    resp = self._responses.get(timeout=self.timeout_s)
                except queue.Empty:
                    names = ", ".join(c["command"] for c in pending.values())
                    raise BrokerSecurityError(names, f"no response within {self.timeout_s}s") from None
                corr = str(resp.get("correlationData"))
                if corr in pending:
                    got[corr] = resp
                    del pending[corr]
        out = [got[c["correlationData"]] for c in cmds]
        for resp in out:
            err = resp.get("error")
            if err and not any(frag in err for frag in tolerate):
                raise BrokerSecurityError(resp.get("command", "?"), err)
        return out

    # --- accounts -------------------------------------------------------------------------------

    def _ensure_role(self, role: str, acls: list[dict[str, Any]]) -> None:
        """Create the role or bring its ACLs to ``acls``.

        Never delete-and-recreate: Mosquitto 2.0 crashes later when a role still referenced by a
        client is deleted (eclipse-mosquitto/mosquitto#2660).
        """
        res = self.execute([{"command": "createRole", "rolename": role, "acls": acls}],
                           tolerate=["already exists"])[0]
        if not res.get("error"):
            return
        current = self.execute([{"command": "getRole", "rolename": role}])[0]
        held = current.get("data", {}).get("role", {}).get("acls", [])
        have = {(a["acltype"], a["topic"]): a for a in held}
        want = {(a["acltype"], a["topic"]): a for a in acls}
        cmds: list[dict[str, Any]] = []
        for key, acl in have.items():
            if key not in want or bool(acl.get("allow")) != bool(want[key].get("allow")):
                cmds.append({"command": "removeRoleACL", "rolename": role,
                             "acltype": key[0], "topic": key[1]})
        for key, acl in want.items():
            if key not in have or bool(have[key].get("allow")) != bool(acl.get("allow")):
                cmds.append({"command": "addRoleACL", "rolename": role, **acl})
        if cmds:
            self.execute(cmds)

    def _get_client(self, username: str) -> dict[str, Any] | None:
        res = self.execute([{"command": "getClient", "username": username}], tolerate=["not found"])[0]
        if res.get("error"):
            return None
        client: dict[str, Any] = res.get("data", {}).get("client", {})
        return client

    def _delete_client(self, username: str, role: str) -> bool:
        res = self.execute([{"command": "disableClient", "username": username}], tolerate=["not found"])
        # Client before role: deleting a role a client still holds crashes Mosquitto 2.0 (#2660).
        self.execute([{"command": "deleteClient", "username": username}], tolerate=["not found"])
        self.execute([{"command": "deleteRole", "rolename": role}], tolerate=["not found"])
        return not res[0].get("error")

    def create_device(self, device_id: str, password: str, *, replace: bool = False) -> str:
        """Create the device's account (``device:<id>``, bound to client id = device id); return its username.

        An account the device already has is replaced (new password, live session cut) only with
        ``replace``; an account under the bare device id that is not an earlier release's account for
        this device (the hub's, the admin's, anyone's) is never touched: the device id is refused.
        """
        username, role, legacy_role = device_username(device_id), device_role(device_id), LEGACY_ROLE_PREFIX + device_id
        legacy = self._get_client(device_id)
        if legacy is not None and not is_device_account(legacy, device_id=device_id, role=legacy_role):
            raise AccountConflict("createClient", f"{device_id!r} names a broker account that is not a device's "
                                  "(the hub, the admin or another client); a device may not use that id")
        current = self._get_client(username)
        if current is not None and not is_device_account(current, device_id=device_id, role=role):
            raise AccountConflict("createClient", f"account {username!r} was not made by the hub for this device")
        if (current is not None or legacy is not None) and not replace:
            raise AccountConflict("createClient", f"device {device_id!r} already has a broker account; only a "
                                  "claim token issued for this device id may replace it")
        self._ensure_role(role, device_acls(device_id))
        if current is None:
            res = self.execute([{"command": "createClient", "username": username, "password": password,
                                 "clientid": device_id, "textname": f"OfficeHub device {device_id}",
                                 "roles": [{"rolename": role}]}], tolerate=["already exists"])[0]
            if res.get("error"):  # a concurrent claim (another replica) won the race: never a silent reset
                raise AccountConflict("createClient", f"device {device_id!r} got an account concurrently")
        else:
            # Disabling cuts the old holder's live session; the new password locks it out.
            self.execute([{"command": "disableClient", "username": username},
                          {"command": "setClientPassword", "username": username, "password": password},
                          {"command": "enableClient", "username": username}])
        if legacy is not None:  # the device now uses the namespaced account: old credentials stop
            self._delete_client(device_id, legacy_role)
        return username

    def revoke_device(self, device_id: str) -> bool:
        """Disconnect the device now and delete its account; False if it had none."""
        found = self._delete_client(device_username(device_id), device_role(device_id))
        legacy_role = LEGACY_ROLE_PREFIX + device_id
        legacy = self._get_client(device_id)
        if legacy is not None and is_device_account(legacy, device_id=device_id, role=legacy_role):
            found = self._delete_client(device_id, legacy_role) or found
        return found

    def create_hub_account(self, username: str, password: str) -> None:
        """The hub reads and writes everything under ``office/v1/#`` (any client id: replicas)."""
        if in_device_namespace(username):
            raise AccountConflict("create_hub_account", f"{username!r} is in the device account namespace "
                                  f"({DEVICE_NAMESPACE}…); give the hub another account name")
        self._ensure_role(HUB_ROLE, hub_acls())
        created = self.execute([{"command": "createClient", "username": username, "password": password,
                                 "roles": [{"rolename": HUB_ROLE}]}], tolerate=["already exists"])[0]
        if created.get("error"):
            self.execute([
                {"command": "setClientPassword", "username": username, "password": password},
                {"command": "setClientId", "username": username},  # any client id: replicas
                {"command": "enableClient", "username": username},
            ])
            info = self._get_client(username) or {}
            if HUB_ROLE not in {r.get("rolename") for r in info.get("roles", [])}:
                # re-adding a held role answers "Internal error" on 2.0.11
                self.execute([{"command": "addClientRole", "username": username, "rolename": HUB_ROLE}])

    def list_clients(self) -> list[str]:
        res = self.execute([{"command": "listClients", "verbose": False, "count": -1, "offset": 0}])[0]
        return list(res.get("data", {}).get("clients", []))
