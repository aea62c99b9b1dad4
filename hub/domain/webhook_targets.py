"""Which addresses a webhook may be delivered to (server-side request forgery guard).

A webhook makes the hub send HTTP requests to a URL an admin typed. Left open, that URL can point
at what sits next to the hub and is not meant to be reachable from outside: the hub's own API on
loopback, CUPS' web admin, the database, a cloud metadata endpoint (169.254.169.254), other hosts
on the LAN. So, like GitLab and Gitea, only public addresses are allowed by default; private,
loopback, link-local and other special ranges must be listed in ``webhook_allowed_hosts``:

- ``hooks.example.internal`` — this host name, whatever it resolves to;
- ``*.example.internal`` — any host name under that domain;
- ``10.20.0.0/16``, ``192.168.1.5``, ``fd00::/8`` — these addresses;
- ``*`` — anything (the behaviour of earlier versions).

Checked when a webhook is created and again at every delivery (a name may resolve differently by
then); every address a name resolves to must be allowed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(ValueError):
    """A webhook URL the allow-list does not permit (the message says why and what to change)."""


def address_kind(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public internet address ("loopback", "private", ...), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    for kind, flag in (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
                       ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                       ("private", ip.is_private), ("reserved", ip.is_reserved)):
        if flag:
            return kind
    return None if ip.is_global else "non-public"


def _host_entry(entry: str) -> str:
    labels = entry.removeprefix("*.").split(".")
    if not all(label and all(c.isalnum() or c == "-" for c in label) for label in labels):
        raise ValueError(f"webhook_allowed_hosts: {entry!r} is not a host name, *.domain, IP address or CIDR")
    return entry


@dataclass(frozen=True, slots=True)
class AllowList:
    anything: bool = False
    hosts: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()  # from "*.example.com": ".example.com"
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Parse setting entries; ValueError names the first entry that is none of the accepted forms."""
        anything, hosts, domains, networks = False, set(), [], []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            if entry == "*":
                anything = True
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = _host_entry(entry)
            if name.startswith("*."):
                domains.append(name[1:])
            else:
                hosts.add(name)
        return cls(anything=anything, hosts=frozenset(hosts), domains=tuple(domains), networks=tuple(networks))

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return self.anything or host in self.hosts or any(host.endswith(d) for d in self.domains)

    def allows_address(self, ip: IPAddress) -> bool:
        return self.anything or address_kind(ip) is None or any(ip in net for net in self.networks)

    def check(self, *, host: str, addresses: Iterable[IPAddress]) -> None:
        """Raise TargetRefused unless ``host`` (resolved to ``addresses``) may receive webhooks."""
        if self.allows_host(host):
            return
        for ip in addresses:
            if not self.allows_address(ip):
                shown = host if host == str(ip) else f"{host} ({ip})"
                raise TargetRefused(
                    f"{shown} is a {address_kind(ip)} address: webhooks go only to public addresses unless the "
                    f"host or network is listed in OFFICEHUB_WEBHOOK_ALLOWED_HOSTS")
