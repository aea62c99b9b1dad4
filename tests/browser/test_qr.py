"""The console's QR encoder (hub/web/js/qr.js, run in node) produces codes OpenCV decodes back to the
same text, for every supported version (1-10) and for non-ASCII text."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from hub.api.routes.console import WEB_ROOT

# Byte capacities at level M for versions 1..10 are 14, 26, 42, 62, 84, 106, 122, 152, 180, 213.
TEXTS = ["R", "release:" + "a" * 18, "b" * 40, "c" * 60, "d" * 80, "e" * 100, "f" * 120, "g" * 150, "h" * 178,
         "i" * 213, "Zoë · 印刷 ✓"]


def _qr_module() -> str:
    """qr.js as an ES module URL. Node before 20.19 (Debian 12 ships 18) loads a plain ``.js`` file
    outside a ``"type": "module"`` package as CommonJS, so its ``export`` would not parse; a data: URL
    is always an ES module."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed (`make test` installs it: scripts/test-env.sh)", pytrace=False)
    source = (WEB_ROOT / "js" / "qr.js").read_bytes()
    return "data:text/javascript;base64," + base64.b64encode(source).decode()


def _matrices(texts: list[str]) -> list[list[list[bool]]]:
    js = (f"import {{ qrMatrix }} from {json.dumps(_qr_module())};"
          f"console.log(JSON.stringify({json.dumps(texts)}.map((t) => qrMatrix(t))));")
    out = subprocess.run(["node", "--input-type=module", "-e", js], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result: list[list[list[bool]]] = json.loads(out.stdout)
    return result


def test_codes_decode_to_the_same_text_for_versions_1_to_10() -> None:
    sizes = []
    for text, matrix in zip(TEXTS, _matrices(TEXTS), strict=True):
        m = np.array(matrix, dtype=bool)
        sizes.append(m.shape[0])
        modules = np.pad(np.where(m, 0, 255).astype(np.uint8), 4, constant_values=255)
        img = cv2.resize(modules, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
        decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(img)
        assert decoded == text, (len(text.encode()), m.shape)
    assert sizes[:10] == [21 + 4 * v for v in range(10)]


def test_too_long_text_is_refused_with_a_message() -> None:
    js = (f"import {{ qrMatrix }} from {json.dumps(_qr_module())};"
          "try { qrMatrix('x'.repeat(214)); } catch (e) { console.log(e.message); }")
    out = subprocess.run(["node", "--input-type=module", "-e", js], capture_output=True, text=True, timeout=60)
    assert "too long" in out.stdout and "214 bytes" in out.stdout
