"""The console's files as the hub serves them (MIME types, caching, CSP, no path escape) and the
dashboard summary endpoint it draws from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from hub.api.routes.console import WEB_ROOT
from hub.db.models.attendance import PunchRow
from hub.db.models.core import Device
from hub.db.session import transaction
from hub.runtime import HubRuntime
from tests.fixtures.brokers import unique_id


def test_index_and_assets_have_the_right_types_and_revalidate(api: TestClient) -> None:
    res = api.get("/")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert res.headers["cache-control"] == "no-cache" and res.headers["etag"]
    assert "default-src 'self'" in res.headers["content-security-policy"]
    assert '<script type="module" src="/console/js/app.js">' in res.text
    again = api.get("/", headers={"If-None-Match": res.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    for path, mime in [("/console/js/app.js", "text/javascript"), ("/console/css/app.css", "text/css"),
                       ("/console/img/favicon.svg", "image/svg+xml"), ("/favicon.ico", "image/svg+xml")]:
        r = api.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith(mime), (path, r.headers["content-type"])
        assert r.headers["x-content-type-options"] == "nosniff"


def test_every_module_the_console_imports_is_served(api: TestClient) -> None:
    modules = sorted(p.relative_to(WEB_ROOT).as_posix() for p in WEB_ROOT.rglob("*.js"))
    assert "js/views/dashboard.js" in modules
    for rel in modules:
        assert api.get(f"/console/{rel}").status_code == 200, rel


def test_files_outside_the_console_or_unknown_are_404(api: TestClient) -> None:
    for path in ["/console/../api/routes/console.py", "/console/%2e%2e/%2e%2e/settings.py", "/console/nope.js",
                 "/console/js", "/console/../../pyproject.toml"]:
        res = api.get(path)
        assert res.status_code == 404, (path, res.status_code)
    assert (WEB_ROOT / "index.html").is_file()
    assert not (WEB_ROOT / ".." / "settings.py").resolve().is_relative_to(WEB_ROOT.resolve())
    assert Path(WEB_ROOT).name == "web"


def test_dashboard_summary(api: TestClient, admin_headers: dict[str, str]) -> None:
    assert api.get("/api/v1/dashboard").status_code == 401
    res = api.get("/api/v1/dashboard", headers=admin_headers, params={"hours": 6})
    assert res.status_code == 200, res.text
    body = res.json()
    assert len(body["checkins_per_hour"]) == 6
    assert all(p["checkins"] == 0 for p in body["checkins_per_hour"])
    assert body["open_alerts"] == 0 and body["alerts"] == [] and body["print_jobs_active"] == 0
    assert api.get("/api/v1/dashboard", headers=admin_headers, params={"hours": 0}).status_code == 422


def test_employees_may_not_read_the_dashboard(api: TestClient, make_user: Callable[..., dict[str, str]]) -> None:
    res = api.get("/api/v1/dashboard", headers=make_user("employee"))
    assert res.status_code == 403
    assert "operator" in res.json()["detail"]


def test_dashboard_counts_checkins_per_hour_and_devices_by_kind(api: TestClient, hub: HubRuntime,
                                                               admin_headers: dict[str, str]) -> None:
    # The session broker may hold other tests' retained devices: count a kind of our own.
    kind = unique_id("kind")
    now = datetime.now(UTC)
    with transaction(hub.sessions) as s:
        s.add(Device(id=unique_id("dash"), kind=kind, online=True, capabilities=[], reported_state={}))
        s.add(Device(id=unique_id("dash"), kind=kind, online=False, capabilities=[], reported_state={}))
        for i, ago in enumerate([0, 0, 3, 30]):  # 30 h ago is outside the 24 h chart
            s.add(PunchRow(key=unique_id(f"dash{i}"), employee_id=1, ts=now - timedelta(hours=ago, minutes=1),
                           direction="IN", source="manual"))
    body = api.get("/api/v1/dashboard", headers=admin_headers).json()
    assert body["devices"][kind] == {"online": 1, "offline": 1}
    hours = body["checkins_per_hour"]
    assert len(hours) == 24 and sum(h["checkins"] for h in hours) == 3
    by_hour = {datetime.fromisoformat(h["hour"]): h["checkins"] for h in hours}
    this_hour = (now - timedelta(minutes=1)).replace(minute=0, second=0, microsecond=0)
    assert by_hour[this_hour] == 2
    assert by_hour[this_hour - timedelta(hours=3)] == 1
