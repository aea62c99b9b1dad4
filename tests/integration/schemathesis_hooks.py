"""Schemathesis hooks for ``test_api_schemathesis`` (loaded by the ``st`` CLI through SCHEMATHESIS_HOOKS).

Three jobs, configured by environment variables the test sets:

- Keep the run's own credentials alive: a request that would reset, revoke or disable one of the
  runner logins (``OFFICEHUB_FUZZ_KEEP_USERS``) or erase the employee a runner login is linked to
  (``OFFICEHUB_FUZZ_KEEP_EMPLOYEES``) is pointed at an id that does not exist instead. The operation
  is still exercised (404, 422, and every other user or employee); only the runner is spared.
  Likewise for revoking the seeded devices in ``OFFICEHUB_FUZZ_KEEP_DEVICES`` (the door terminal), so
  the operations after it still find a live device.
- No side effects outside the hub: a webhook's URL is rewritten to a closed local port.
- Bounded time: a valid or omitted ``wait_s`` for device logs becomes 1 s (an offline device's
  request waits that long).

And one to reach deeper: generated path parameters are mixed with the ids of seeded objects
(``OFFICEHUB_FUZZ_SEEDS``: JSON, parameter name → values), so those operations do not all stop at 404.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

# An id no seeded or generated object gets in a run of this size (still a valid 64-bit id).
MISSING_ID = 987_654_321
# Port 9 (discard) on loopback: nothing listens, so a delivery fails at once, inside the machine.
LOCAL_WEBHOOK = "http://127.0.0.1:9/schemathesis-webhook"
MAX_WAIT_S = 30  # fetch_logs' own limit; larger values stay, to be refused


def _ids(name: str) -> set[str]:
    return {x for x in os.environ.get(name, "").split(",") if x}


KEEP_USERS = _ids("OFFICEHUB_FUZZ_KEEP_USERS")
KEEP_EMPLOYEES = _ids("OFFICEHUB_FUZZ_KEEP_EMPLOYEES")
KEEP_DEVICES = _ids("OFFICEHUB_FUZZ_KEEP_DEVICES")
SEEDS: dict[str, list[Any]] = json.loads(os.environ.get("OFFICEHUB_FUZZ_SEEDS") or "{}")


def _spare(params: dict[str, Any], name: str, keep: set[str]) -> None:
    if name in params and str(params[name]) in keep:
        params[name] = MISSING_ID


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: Any, kwargs: dict[str, Any]) -> None:
    path, method = case.operation.path, case.method.upper()
    params = case.path_parameters
    if params is not None:
        if path.startswith("/api/v1/users/{user_id}"):  # role, disable, password reset, revoke tokens
            _spare(params, "user_id", KEEP_USERS)
        if path == "/api/v1/employees/{employee_id}" and method == "DELETE":  # erasure disables the login
            _spare(params, "employee_id", KEEP_EMPLOYEES)
        if path == "/api/v1/devices/{device_id}/revoke" or (path == "/api/v1/devices/{device_id}"
                                                             and method == "DELETE"):
            _spare(params, "device_id", KEEP_DEVICES)
    if path == "/api/v1/webhooks" and method == "POST" and isinstance(case.body, dict) and "url" in case.body:
        case.body["url"] = LOCAL_WEBHOOK
    if path == "/api/v1/devices/{device_id}/logs":
        # An offline device (the fuzzer creates some) holds the request for wait_s, 10 s when omitted:
        # keep valid waits short. Invalid ones stay, to be refused.
        query = case.query if isinstance(case.query, dict) else {}
        wait = query.get("wait_s", MAX_WAIT_S)
        if isinstance(wait, int | float) and not isinstance(wait, bool) and 1 < wait <= MAX_WAIT_S:
            case.query = {**query, "wait_s": 1}


@schemathesis.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any]) -> Any:
    choices: list[dict[str, Any]] = [path_parameters]
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    for name, seeded in SEEDS.items():
        if name in path_parameters:
            choices += [{**path_parameters, name: value} for value in seeded]
    return st.sampled_from(choices)
