"""Is a queue's printer reachable on the network?

CUPS does not say when a network printer is switched off: the queue stays "processing" with no
state reason while the ipp backend retries, and only a localized message hints at it. The box
therefore probes the device URI itself (a TCP connect, cached for a few seconds) and reports an
unreachable printer as ``offline`` with ``offline-report``, like backends that do report it.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

# Schemes that name a TCP endpoint, with their default ports. usb://, cups-pdf:/, file: are local.
DEFAULT_PORTS = {"ipp": 631, "ipps": 631, "http": 80, "https": 443, "socket": 9100, "lpd": 515}


def endpoint(device_uri: str) -> tuple[str, int] | None:
    """``(host, port)`` of a network device URI; None for local devices or URIs we cannot read."""
    try:
        parts = urlsplit(device_uri)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        return parts.hostname, parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        return None


class ReachabilityProbe:
    def __init__(self, *, timeout_s: float = 1.0, cache_s: float = 5.0) -> None:
        self.timeout_s, self.cache_s = timeout_s, cache_s
        self._seen: dict[tuple[str, int], tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def reachable(self, device_uri: str) -> bool | None:
        """True/False for network printers, None when the URI is not a network endpoint."""
        ep = endpoint(device_uri)
        if ep is None:
            return None
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(ep)
        if hit is not None and now - hit[0] < self.cache_s:
            return hit[1]
        try:
            with socket.create_connection(ep, timeout=self.timeout_s):
                ok = True
        except OSError:
            ok = False
        with self._lock:
            self._seen[ep] = (now, ok)
        return ok
