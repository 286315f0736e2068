"""`gin link` verbs on bad input: one clear line, the documented exit code, nothing written."""

from __future__ import annotations

import json

import pytest

from gin.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GIN_DB", str(tmp_path / "cli.sqlite"))

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    assert _run("directory", "plan", "apply")[0] == 0
    for cmd in (["agency", "add", "GIN", "--name-en", "GIN operator", "--kind", "gin"],
                ["agency", "add", "DOPA", "--name-en", "Dept of Provincial Administration"],
                ["site", "add", "GIN", "core"], ["site", "add", "DOPA", "hq"],
                ["device", "add", "pe1", "--agency", "GIN", "--site", "core", "--role", "pe",
                 "--platform", "frr", "--asn", "65000"],
                ["device", "add", "ce1", "--agency", "DOPA", "--site", "hq", "--role", "ce",
                 "--platform", "cisco_ios"]):
        assert _run("directory", *cmd)[0] == 0, cmd
    return _run


@pytest.mark.parametrize("pe,ce,message", [
    ("pe1", "ce1:Gi0/0", "expected DEVICE:INTERFACE"),
    ("pe1:", "ce1:Gi0/0", "expected DEVICE:INTERFACE"),
    ("pe1:eth1\nrouter bgp 1", "ce1:Gi0/0", "control character"),
    ("nope:eth1", "ce1:Gi0/0", "device 'nope' not found"),
    ("ce1:Gi0/1", "pe1:eth1", "expected a pe"),
    ("pe1:eth1", "ce1:" + "x" * 300, "longer than"),
])
def test_plan_refuses_bad_endpoints(run, pe, ce, message):
    code, _, err = run("link", "plan", "DOPA", "--site", "hq", "--pe", pe, "--ce", ce)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    assert json.loads(run("link", "list", "--json")[1]) == []


@pytest.mark.parametrize("verb", [["render"], ["show"], ["provision", "--dry-run"],
                                  ["decommission", "--yes"]])
def test_unknown_link_is_one_line(run, verb):
    code, _, err = run("link", verb[0], "no-such-link", *verb[1:])
    assert code == 1 and err.strip() == "gin: error: link 'no-such-link' not found"


def test_plan_then_render_json(run):
    code, out, _ = run("link", "plan", "DOPA", "--site", "hq", "--pe", "pe1:eth1",
                       "--ce", "ce1:Gi0/0", "--lan", "Gi0/1", "--json")
    assert code == 0 and json.loads(out)["status"] == "planned"
    code, out, _ = run("link", "render", "dopa-ce1", "--json")
    configs = json.loads(out)
    assert set(configs) == {"pe1", "ce1"}
    assert "neighbor 2001:db8:1::1 remote-as 4200000000" in configs["pe1"]
    code, _, err = run("link", "plan", "DOPA", "--site", "hq", "--pe", "pe1:eth1",
                       "--ce", "ce1:Gi0/2")
    assert code == 1 and "already" in err


def test_add_records_an_existing_link_and_rm_guards_it(run):
    """Brown-field: `link add` records, `show` says why there is no intent, `rm` refuses
    an active link unless forced; hostile names are refused with one line."""
    code, out, _ = run("link", "add", "old1", "--pe", "pe1:eth9", "--ce", "ce1:Gi0/9",
                       "--agency", "DOPA", "--json")
    assert code == 0 and json.loads(out)["status"] == "active"
    code, out, _ = run("link", "show", "old1", "--json")
    assert code == 0 and "plan it with `gin link plan`" in json.loads(out)["intent"]
    code, _, err = run("link", "rm", "old1")
    assert code == 1 and "decommission" in err and len(err.strip().splitlines()) == 1
    assert run("link", "rm", "old1", "--force")[0] == 0
    code, _, err = run("link", "add", "x\nrouter bgp 1", "--pe", "pe1:eth9", "--ce", "ce1:Gi0/9")
    assert code == 1 and "control character" in err
    assert json.loads(run("link", "list", "--json")[1]) == []
