"""Device config ``print_queues``: hub queue name → local CUPS printer name.

The box reports a mapped CUPS printer under its hub name, and a job for the hub name prints on that
printer, so an admin can give ``HP_LaserJet_M404_3F2A1B`` the name ``floor-2`` without touching CUPS.
Unmapped printers keep their CUPS names. The mapping is swapped whole, so readers on other threads
see the old one or the new one.
"""

from __future__ import annotations

from collections.abc import Mapping


class QueueNames:
    def __init__(self) -> None:
        self._to_cups: dict[str, str] = {}
        self._to_hub: dict[str, str] = {}

    def apply(self, mapping: Mapping[str, str]) -> bool:
        """Adopt a new mapping; True when it changed."""
        to_cups = {str(k): str(v) for k, v in mapping.items()}
        if len(set(to_cups.values())) != len(to_cups):
            raise ValueError("print_queues: two hub names point at the same CUPS printer")
        changed = to_cups != self._to_cups
        self._to_cups, self._to_hub = to_cups, {v: k for k, v in to_cups.items()}
        return changed

    def to_cups(self, hub_name: str) -> str:
        return self._to_cups.get(hub_name, hub_name)

    def to_hub(self, cups_name: str) -> str:
        return self._to_hub.get(cups_name, cups_name)
