"""Migrations and models agree: upgrading an empty database to every head gives exactly the schema
the ORM models declare, and every migration downgrades back to an empty database."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from hub.db import models  # noqa: F401  (registers every table)
from hub.db.base import Base
from hub.db.migrate import alembic_config, upgrade
from hub.db.session import make_engine
from hub.domain.device_config import ConfigLayer, effective_config


def test_upgrade_to_heads_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ (write a migration): {diff}"


def test_every_migration_downgrades_to_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(url)  # and up again


def test_retired_config_keys_are_removed_from_stored_configs(tmp_path: Path) -> None:
    """A site layer and a device saved before the keys were retired load after the upgrade."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url, "0004_fleet")
    engine = make_engine(url)
    now = "2026-01-01 00:00:00.000000"
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO fleet_config_layers (scope, name, kind, \"values\", updated_at) "
                              "VALUES ('site', 'default', 'door_terminal', :v, :now)"),
                         {"v": json.dumps({"door_unlock_s": 4, "match_threshold": 0.45, "timezone": "UTC"}),
                          "now": now})
            conn.execute(text("INSERT INTO devices (id, kind, model, firmware, capabilities, online, "
                              "reported_state, revoked, created_at) VALUES ('door-1', 'door_terminal', 'm', "
                              "'1', '[]', 0, '{}', 0, :now)"), {"now": now})
            conn.execute(text("INSERT INTO fleet_devices (device_id, tags, config_overrides, desired_config, "
                              "config_version, offline_alerted) VALUES ('door-1', '[]', :o, :d, 3, 0)"),
                         {"o": json.dumps({"liveness_required": False, "door_unlock_s": 6}),
                          "d": json.dumps({"door_unlock_s": 6, "timezone": "Europe/Berlin"})})
        upgrade(url)
        with engine.connect() as conn:
            layer = json.loads(conn.execute(text("SELECT \"values\" FROM fleet_config_layers")).scalar_one())
            overrides, desired = conn.execute(text(
                "SELECT config_overrides, desired_config FROM fleet_devices")).one()
    finally:
        engine.dispose()
    assert layer == {"door_unlock_s": 4, "match_threshold": 0.45}  # a live key stays
    assert json.loads(overrides) == {"door_unlock_s": 6} and json.loads(desired) == {"door_unlock_s": 6}
    effective_config([ConfigLayer("site", layer), ConfigLayer("device", json.loads(overrides))],
                     kind="door_terminal")


def test_decided_punch_events_lose_their_face_encoding(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url, "0006_face_drop_door_alerts")
    engine = make_engine(url)
    row = ("INSERT INTO events (device_id, event_id, seq, type, boot_id, device_ts, received_at, data, processed_at) "
           "VALUES ('door-1', :eid, :seq, 'punch', 'b', :now, :now, :data, :done)")
    now = "2026-01-01 00:00:00.000000"
    data = json.dumps({"employee_id": "7", "encoding": [0.1] * 128})
    try:
        with engine.begin() as conn:
            conn.execute(text(row), {"eid": "decided", "seq": 1, "now": now, "data": data, "done": now})
            conn.execute(text(row), {"eid": "waiting", "seq": 2, "now": now, "data": data, "done": None})
        upgrade(url)
        with engine.connect() as conn:
            stored = dict(conn.execute(text("SELECT event_id, data FROM events")).all())
    finally:
        engine.dispose()
    assert json.loads(stored["decided"]) == {"employee_id": "7", "encoding": "redacted"}
    assert json.loads(stored["waiting"])["encoding"] == [0.1] * 128  # its handler still needs it


def test_print_pins_keep_their_legacy_hash_and_may_repeat(tmp_path: Path) -> None:
    """Unique keyed PIN hashes from earlier versions survive the upgrade (and still verify); afterwards
    two employees may hold the same PIN. Downgrading drops only the salted hashes it cannot read."""
    from hub.domain.print_release import hash_pin, legacy_pin_hash, verify_pin

    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url, "0007_print_drop_print_alerts")
    engine = make_engine(url)
    row = "INSERT INTO print_profiles (owner_key, pin_hash, updated_at) VALUES (:k, :h, '2026-01-01 00:00:00')"
    legacy = legacy_pin_hash(secret="s", pin="4711")
    try:
        with engine.begin() as conn:
            conn.execute(text(row), {"k": "emp:1", "h": legacy})
        upgrade(url)
        salted = hash_pin(secret="s", pin="4711")
        with engine.begin() as conn:
            conn.execute(text(row), {"k": "emp:2", "h": salted})
            conn.execute(text(row), {"k": "emp:3", "h": salted})  # a repeat is no longer refused
            kept = conn.execute(text("SELECT pin_hash FROM print_profiles WHERE owner_key = 'emp:1'")).scalar_one()
        assert kept == legacy and verify_pin(secret="s", pin="4711", stored=kept)
        command.downgrade(alembic_config(url), "0007_print_drop_print_alerts")
        with engine.connect() as conn:
            after = dict(conn.execute(text("SELECT owner_key, pin_hash FROM print_profiles")).all())
    finally:
        engine.dispose()
    assert after == {"emp:1": legacy, "emp:2": None, "emp:3": None}
