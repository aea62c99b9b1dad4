"""The raw command route's rights table covers every command the protocol defines."""

from __future__ import annotations

from hub.auth.command_rights import FEATURE_ONLY, RAW_COMMAND_ROLES, raw_command_refusal
from hub.auth.tokens import Role
from protocol.events import COMMAND_ARGS


def test_every_protocol_command_has_exactly_one_rule() -> None:
    assert set(RAW_COMMAND_ROLES) == set(COMMAND_ARGS), "give new commands a rule in hub/auth/command_rights.py"


def test_firmware_config_and_template_commands_are_admin_only() -> None:
    for name in ("update_firmware", "rollback_firmware", "apply_config", "delete_templates"):
        assert RAW_COMMAND_ROLES[name] is Role.ADMIN
        assert raw_command_refusal(name, Role.OPERATOR) == f"{name} needs the admin role"
        assert raw_command_refusal(name, Role.ADMIN) is None


def test_feature_commands_are_refused_to_everyone_and_unknown_names_have_no_rule() -> None:
    for name in ("print_job", "cancel_print_job", "release_job"):
        assert RAW_COMMAND_ROLES[name] is FEATURE_ONLY
        assert raw_command_refusal(name, Role.ADMIN) is not None
    assert raw_command_refusal("format_disk", Role.ADMIN) is not None
    assert raw_command_refusal("reboot", Role.EMPLOYEE) == "reboot needs the operator role"
