"""Who may send which device command through the raw route ``POST /api/v1/devices/{id}/commands``.

The one table of command rights. Commands that change what a device runs, how it is configured or
which face templates it holds are admin-only: otherwise an operator could bypass the admin-only
config, rollout and erasure routes by sending the command itself. Commands that a feature drives
with its own state (print offers, cancellations, releases) are refused on the raw route for
everyone: sent by hand they would desynchronise the job's tracking or skip the release check.
A command missing from the table is refused (a new command must be given a rule here).
"""

from __future__ import annotations

from typing import Final

from hub.auth.tokens import ROLE_RANK, Role

FEATURE_ONLY: Final = None  # sent only by the feature that owns it, never through the raw route

RAW_COMMAND_ROLES: Final[dict[str, Role | None]] = {
    # Day-to-day operation.
    "ping": Role.OPERATOR,
    "reboot": Role.OPERATOR,
    "open_door": Role.OPERATOR,
    "fetch_logs": Role.OPERATOR,
    # Only asks a terminal to pull the gallery delta the hub already serves it; carries no templates.
    "sync_gallery": Role.OPERATOR,
    # Firmware, config and templates: the same rights as their own feature routes.
    "update_firmware": Role.ADMIN,
    "rollback_firmware": Role.ADMIN,
    "apply_config": Role.ADMIN,
    "delete_templates": Role.ADMIN,
    # Print jobs: the print routes create, cancel and release them with their state tracking.
    "print_job": FEATURE_ONLY,
    "cancel_print_job": FEATURE_ONLY,
    "release_job": FEATURE_ONLY,
}


def raw_command_refusal(name: str, role: Role) -> str | None:
    """Why ``role`` may not send ``name`` through the raw command route, or None when it may."""
    if name not in RAW_COMMAND_ROLES:
        return f"{name!r} has no rule for the raw command route"
    needed = RAW_COMMAND_ROLES[name]
    if needed is FEATURE_ONLY:
        return f"{name} is sent by its own feature's routes, not as a raw command"
    if ROLE_RANK[role] < ROLE_RANK[needed]:
        return f"{name} needs the {needed.value} role"
    return None
