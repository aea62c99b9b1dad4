"""Resolving a webhook URL to the address a delivery connects to, under the allow-list.

The request goes to the very address that was checked (the URL's host is replaced by it, with the
original ``Host`` header and TLS server name), so a name that resolves to a public address for the
check and to an internal one a moment later (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from hub.domain.webhook_targets import AllowList, IPAddress, TargetRefused

Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class Target:
    url: httpx.URL  # what is connected to: the checked address in place of the host name
    host_header: str
    sni_hostname: str | None  # for https: the certificate is still checked against the name

    def extensions(self) -> dict[str, str]:
        return {"sni_hostname": self.sni_hostname} if self.sni_hostname else {}


def resolve_target(url: str, *, allow: AllowList, resolve: Resolver = system_resolver) -> Target:
    """The checked address to deliver ``url`` to; TargetRefused when it is not allowed or not found."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise TargetRefused(f"{url} is not an http(s) URL")
    host, port = parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
    literal = _ip_literal(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
        except (OSError, UnicodeError) as exc:
            raise TargetRefused(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise TargetRefused(f"cannot resolve {host}: no address")
    allow.check(host=host, addresses=addresses)
    return Target(url=parsed.copy_with(host=str(addresses[0])), host_header=parsed.netloc.decode("ascii"),
                  sni_hostname=host if parsed.scheme == "https" and literal is None else None)


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
