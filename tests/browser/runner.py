"""Run a console spec (``node tests/browser/<spec>.mjs``) from pytest.

The spec prints JSON lines: ``{"event": name, ...}`` when it needs the Python side to act (e.g. make a
simulated terminal see a face) and waits for a line on stdin; the last line is ``{"result": ...}``.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE / "screenshots"
CHROMIUM = os.environ.get("OFFICEHUB_CHROMIUM", "/usr/bin/chromium")

Handler = Callable[[dict[str, Any]], None]


def require_browser() -> None:
    """Fail (never skip) when node, chromium or playwright-core is missing: `make test` installs them."""
    missing = [what for what, ok in [
        ("node", shutil.which("node") is not None),
        (CHROMIUM, Path(CHROMIUM).exists()),
        ("tests/browser/node_modules/playwright-core", (HERE / "node_modules" / "playwright-core").is_dir()),
    ] if not ok]
    if missing:
        pytest.fail(f"browser tests need: {', '.join(missing)} (`make test` installs them: scripts/test-env.sh, "
                    "then npm ci in tests/browser)", pytrace=False)


def _pump(stream: Any, out: queue.Queue[str | None]) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def run_spec(spec: str, *, env: dict[str, str], on_event: dict[str, Handler] | None = None,
             timeout: float = 240) -> dict[str, Any]:
    """Run ``spec``; answer its events with ``on_event[name](payload)``; return its result line."""
    require_browser()
    full_env = {**os.environ, "SCREENSHOT_DIR": str(SCREENSHOTS), "CHROMIUM": CHROMIUM, **env}
    proc = subprocess.Popen(["node", str(HERE / spec)], cwd=HERE, env=full_env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    errors: list[str] = []
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    threading.Thread(target=lambda: errors.extend(proc.stderr or []), daemon=True).start()
    result: dict[str, Any] | None = None
    deadline = time.monotonic() + timeout
    try:
        while result is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{spec} did not finish within {timeout}s") from None
            if line is None:
                break
            msg = json.loads(line) if line.startswith("{") else {"log": line}
            if "event" in msg:
                handler = (on_event or {}).get(msg["event"])
                if handler is None:
                    raise AssertionError(f"{spec} asked for {msg['event']!r}, which this test does not handle")
                handler(msg)
                proc.stdin.write("go\n")
                proc.stdin.flush()
            elif "result" in msg:
                result = msg
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert result is not None, f"{spec} exited {proc.returncode} without a result; stderr:\n{''.join(errors)[-4000:]}"
    assert result["result"] == "ok" and proc.returncode == 0, \
        f"{spec} failed: {json.dumps(result, indent=1)[:6000]}\nstderr:\n{''.join(errors)[-2000:]}"
    assert result["problems"] == [], result["problems"]
    assert result["offsite"] == [], f"requests left localhost: {result['offsite']}"
    for shot in result["screenshots"]:
        assert Path(shot).stat().st_size > 1000, shot
    return result
