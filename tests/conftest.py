"""Shared fixtures: real brokers (tests/fixtures/brokers.py) and more as features land.

`make test` installs every tool the tests use (scripts/test-env.sh), so a missing one is a failure.
In CI (CI=true) any skip is turned into a failure too, unless the test is marked ``may_skip``
(LibreOffice, which make test does not install): a skip there would hide a missing tool.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.fixtures.brokers", "tests.fixtures.cups", "tests.fixtures.secure_mosquitto",
                  "tests.fixtures.hub", "tests.fixtures.hub_http", "tests.fixtures.face",
                  "tests.fixtures.secure_hub", "tests.fixtures.tls", "tests.fixtures.postgres_cluster"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if (report.skipped and not hasattr(report, "wasxfail") and _in_ci()
            and item.get_closest_marker("may_skip") is None):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every tool must be there: {reason}"
