"""The print box's hub-name ↔ CUPS-name mapping (device config print_queues)."""

from __future__ import annotations

import pytest

from devices.print_box.queue_names import QueueNames


def test_mapped_names_translate_both_ways_and_others_pass_through() -> None:
    names = QueueNames()
    assert names.apply({"floor-2": "HP_LaserJet_M404"}) is True
    assert names.to_cups("floor-2") == "HP_LaserJet_M404" and names.to_hub("HP_LaserJet_M404") == "floor-2"
    assert names.to_cups("canon") == "canon" and names.to_hub("canon") == "canon"
    assert names.apply({"floor-2": "HP_LaserJet_M404"}) is False  # unchanged
    assert names.apply({}) is True and names.to_hub("HP_LaserJet_M404") == "HP_LaserJet_M404"


def test_two_names_for_one_printer_are_refused_and_the_old_mapping_kept() -> None:
    names = QueueNames()
    names.apply({"a": "hp"})
    with pytest.raises(ValueError, match="same CUPS printer"):
        names.apply({"a": "hp", "b": "hp"})
    assert names.to_cups("a") == "hp"
