"""Helpers for the monitor integration tests: the skip rule and a throw-away Prometheus."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

PROMETHEUS = "/usr/bin/prometheus"
REQUIRE = os.environ.get("GIN_REQUIRE_INTEGRATION") == "1"


def need(condition: bool, reason: str) -> None:
    """Same rule as tests/conftest.py: skip, or fail under GIN_REQUIRE_INTEGRATION=1."""
    if condition:
        return
    if REQUIRE:
        pytest.fail(f"{reason} (GIN_REQUIRE_INTEGRATION=1 turns this skip into a failure)")
    pytest.skip(reason)


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PromServer:
    """prometheus with a given config, its own TSDB dir, listening on 127.0.0.1."""

    def __init__(self, workdir: Path, config: dict[str, Any] | None = None) -> None:
        """``config`` None: use the prometheus.yml already in workdir (e.g. generated)."""
        self.workdir = workdir
        self.port = free_tcp_port()
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> PromServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "prometheus.yml"
        if self.config is not None:
            conf.write_text(yaml.safe_dump(self.config))
        log = open(self.workdir / "prometheus.log", "wb")  # noqa: SIM115 - lives with proc
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={conf}", f"--storage.tsdb.path={self.workdir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.workdir / 'prometheus.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready")

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; raises on a PromQL error (so a bad dashboard expression fails)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {body}")
        return body["data"]["result"]

    def wait_for(self, expr: str, timeout: float = 60.0, cond: Any = bool) -> list[dict]:
        """Poll ``expr`` until ``cond`` holds; generous, as CI machines are shared and slow.
        On time-out the message carries each target's health and last scrape error."""
        end = time.monotonic() + timeout
        result: list[dict] = []
        while time.monotonic() < end:
            result = self.query(expr)
            if cond(result):
                return result
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {expr!r}; last result {result}; "
                             f"targets: {self.target_health()}")

    def target_health(self) -> list[tuple[str, str, str]]:
        """(scrape URL, health, last error) of every active target, for failure messages."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=10) as r:
                active = json.load(r)["data"]["activeTargets"]
        except OSError as exc:
            return [("?", "unreachable", str(exc))]
        return [(t.get("scrapeUrl", "?"), t.get("health", "?"), t.get("lastError", ""))
                for t in active]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def have_prometheus() -> bool:
    return Path(PROMETHEUS).exists() and shutil.which("promtool") is not None
