"""Property-based requests (schemathesis, from the service's own OpenAPI document) against the
running ``gin serve`` on PostgreSQL, as the admin (so every route gets past the permission
check and reaches the directory): no answer is a server error."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def test_no_generated_request_makes_a_server_error(pg_url, serve, tmp_path):
    svc = serve(pg_url)
    st = shutil.which("st", path=str(Path(os.sys.executable).parent)) or shutil.which("st")
    assert st, "schemathesis (the test extra) provides the st command"
    token = svc.tokens["admin"]
    result = subprocess.run(
        [st, "run", f"{svc.url}/api/v1/openapi.json", "--url", svc.url,
         "--checks", "not_a_server_error", "--max-examples", "30", "--seed", "1",
         "--phases", "examples,coverage,fuzzing", "--request-timeout", "60",
         "-H", f"Authorization: Bearer {token}", "--no-color",
         "--report", "junit", "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=1800, check=False, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert token not in output  # the token is never echoed back
    assert result.returncode == 0, output[-6000:]
    assert "Test cases:" in output and " passed" in output
    verdict = svc.client("auditor").get("/changes/verify").json()
    assert verdict["ok"], verdict  # whatever was written, the chain holds
