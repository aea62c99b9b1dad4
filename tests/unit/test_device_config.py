from __future__ import annotations

import pytest

from hub.domain.device_config import (
    ConfigConflict,
    ConfigError,
    ConfigLayer,
    DesiredConfig,
    DoorTerminalConfig,
    check_version,
    config_schema,
    drift,
    effective_config,
    update_desired,
    validate_layer,
)


def test_defaults_when_no_layers() -> None:
    cfg = effective_config([], kind="door_terminal")
    assert cfg == DoorTerminalConfig().model_dump(mode="json")
    assert cfg["door_unlock_s"] == 5.0 and cfg["heartbeat_s"] == 30


def test_layers_merge_in_order() -> None:
    layers = [
        ConfigLayer("site", {"heartbeat_s": 60, "log_level": "warning", "door_unlock_s": 4}),
        ConfigLayer("group:lobby", {"door_unlock_s": 8, "offline_punches": False}),
        ConfigLayer("device:door-7", {"offline_punches": True}),
    ]
    cfg = effective_config(layers, kind="door_terminal")
    assert cfg["heartbeat_s"] == 60
    assert cfg["log_level"] == "warning"
    assert cfg["door_unlock_s"] == 8.0
    assert cfg["offline_punches"] is True
    assert cfg["face_policy"] == {}


def test_mapping_keys_merge_per_entry() -> None:
    layers = [
        ConfigLayer("site", {"face_policy": {"threshold": 0.5, "margin": 0.08}}),
        ConfigLayer("device:door-2", {"face_policy": {"threshold": 0.45}}),
    ]
    cfg = effective_config(layers, kind="door_terminal")
    assert cfg["face_policy"] == {"threshold": 0.45, "margin": 0.08}


@pytest.mark.parametrize(("values", "key", "fragment"), [
    ({"door_unlock_s": 0.2}, "door_unlock_s", "greater than or equal to 0.5"),
    ({"door_unlock_s": 61}, "door_unlock_s", "less than or equal to 60"),
    ({"match_threshold": 0.9}, "match_threshold", "less than or equal to 0.8"),
    ({"liveness_required": True}, "liveness_required", "unknown key"),  # retired: no device applied it
    ({"heartbeat_s": 4}, "heartbeat_s", "greater than or equal to 5"),
    ({"heartbeat_s": 3601}, "heartbeat_s", "less than or equal to 3600"),
    ({"log_level": "chatty"}, "log_level", "debug"),
    ({"door_unlok_s": 5}, "door_unlok_s", "unknown key"),
    ({"max_job_mb": 5}, "max_job_mb", "unknown key"),  # not a door terminal key
])
def test_layer_errors_name_layer_and_key(values: dict[str, object], key: str, fragment: str) -> None:
    layers = [ConfigLayer("site", {"heartbeat_s": 60}), ConfigLayer("group:lobby", values)]
    with pytest.raises(ConfigError) as ei:
        effective_config(layers, kind="door_terminal")
    [issue] = ei.value.issues
    assert issue.layer == "group:lobby"
    assert issue.key == key
    assert fragment in issue.message
    assert f"group:lobby → {key}" in str(ei.value)


def test_all_bad_layers_reported_together() -> None:
    layers = [ConfigLayer("site", {"heartbeat_s": 1}), ConfigLayer("device:d", {"nope": 1})]
    with pytest.raises(ConfigError) as ei:
        effective_config(layers, kind="door_terminal")
    assert [(i.layer, i.key) for i in ei.value.issues] == [("site", "heartbeat_s"), ("device:d", "nope")]


def test_print_box_limit_queue_names_and_unknown_kind() -> None:
    with pytest.raises(ConfigError, match="greater than or equal to 1"):
        validate_layer({"max_job_mb": 0}, kind="print_box", layer="device:pb")
    with pytest.raises(ConfigError, match="invalid queue/printer name"):
        validate_layer({"print_queues": {"bw": "bad name/../"}}, kind="print_box", layer="device:pb")
    with pytest.raises(ConfigError, match="same CUPS printer"):
        validate_layer({"print_queues": {"a": "hp", "b": "hp"}}, kind="print_box", layer="device:pb")
    with pytest.raises(ConfigError, match="unknown device kind"):
        effective_config([], kind="toaster")


def test_validate_layer_returns_only_given_keys_normalised() -> None:
    assert validate_layer({"door_unlock_s": 3}, kind="door_terminal") == {"door_unlock_s": 3.0}


def test_versions_bump_only_on_change_and_conflict_on_stale() -> None:
    v1 = DesiredConfig(version=1, values={"heartbeat_s": 30})
    same = update_desired(v1, {"heartbeat_s": 30}, kind="door_terminal", expected_version=1)
    assert same is v1
    v2 = update_desired(v1, {"heartbeat_s": 45}, kind="door_terminal", expected_version=1)
    assert v2.version == 2 and v2.values == {"heartbeat_s": 45}
    with pytest.raises(ConfigConflict) as ei:
        update_desired(v2, {"heartbeat_s": 50}, kind="door_terminal", expected_version=1)
    assert (ei.value.expected, ei.value.actual) == (1, 2)
    assert "v1" in str(ei.value) and "v2" in str(ei.value)
    v3 = update_desired(v2, {"heartbeat_s": 50}, kind="door_terminal", expected_version=None)
    assert v3.version == 3
    with pytest.raises(ConfigError):
        update_desired(v3, {"heartbeat_s": 1}, kind="door_terminal", expected_version=3)
    check_version(expected=3, actual=3)


def test_drift() -> None:
    desired = {"heartbeat_s": 30, "door_unlock_s": 5.0, "log_level": "info", "camera_source": "/dev/video0"}
    reported = {"heartbeat_s": 30, "door_unlock_s": 5, "log_level": "debug", "legacy_key": 1}
    assert drift(desired, reported) == {"log_level": ("info", "debug"),
                                        "camera_source": ("/dev/video0", None)}
    assert drift(desired, desired) == {}


def test_schema_has_ranges_and_units() -> None:
    props = config_schema("door_terminal")["properties"]
    assert props["door_unlock_s"]["minimum"] == 0.5 and props["door_unlock_s"]["maximum"] == 60
    assert props["door_unlock_s"]["unit"] == "s"


def test_face_policy_overrides_merge_across_layers_and_keep_only_set_keys() -> None:
    assert effective_config([], kind="door_terminal")["face_policy"] == {}
    layers = [
        ConfigLayer("site", {"face_policy": {"threshold": 0.5, "cooldown_s": 30}}),
        ConfigLayer("device:door-1", {"face_policy": {"threshold": 0.45}}),
    ]
    cfg = effective_config(layers, kind="door_terminal")
    assert cfg["face_policy"] == {"threshold": 0.45, "cooldown_s": 30.0}
    assert validate_layer({"face_policy": {"frames_required": 2}}, kind="door_terminal") == {
        "face_policy": {"frames_required": 2}}


@pytest.mark.parametrize(("policy", "where", "fragment"), [
    ({"thresold": 0.5}, "face_policy.thresold", "unknown key"),
    ({"threshold": 0.05}, "face_policy.threshold", "greater than or equal to 0.2"),
    ({"threshold": 6}, "face_policy.threshold", "less than or equal to 0.9"),
    ({"frames_required": 0}, "face_policy.frames_required", "greater than or equal to 1"),
    ({"threshold": 0.8, "unknown_distance": 0.7}, "face_policy", "unknown_distance must be >= threshold"),
    ({"frames_required": 3, "frames_window": 2}, "face_policy", "frames_required <= frames_window"),
])
def test_face_policy_errors_name_the_setting(policy: dict[str, object], where: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_layer({"face_policy": policy}, kind="door_terminal", layer="device")
    assert [(i.layer, i.key) for i in err.value.issues] == [("device", where)]
    assert fragment in err.value.issues[0].message


def test_face_policy_is_not_a_print_box_key() -> None:
    with pytest.raises(ConfigError, match="face_policy: unknown key"):
        validate_layer({"face_policy": {"threshold": 0.5}}, kind="print_box")


def test_print_queue_mappings_merge_per_entry() -> None:
    layers = [
        ConfigLayer("site", {"print_queues": {"bw": "hp-floor1", "color": "canon-1"}}),
        ConfigLayer("device:pb-2", {"print_queues": {"color": "canon-2"}}),
    ]
    cfg = effective_config(layers, kind="print_box")
    assert cfg["print_queues"] == {"bw": "hp-floor1", "color": "canon-2"}


def test_match_threshold_and_camera_are_unset_by_default() -> None:
    cfg = effective_config([ConfigLayer("device:d", {"match_threshold": 0.42, "camera_source": "rtsp://cam/1"})],
                           kind="door_terminal")
    assert cfg["match_threshold"] == 0.42 and cfg["camera_source"] == "rtsp://cam/1"
    defaults = effective_config([], kind="door_terminal")
    assert defaults["match_threshold"] is None and defaults["camera_source"] is None
