"""The monitor agent finds the VPN collector by entry point; a failed read is a metric, not
a failed scrape; tunnels not deployed are not exposed."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from monitor.agent import entry_point_factories
from vpn.metrics import VpnCollector, collector
from vpn.tunnels import create_tunnel


def _scrape(col) -> str:
    registry = CollectorRegistry()
    registry.register(col)
    return generate_latest(registry).decode()


def test_entry_point_registers_the_collector():
    assert collector in entry_point_factories()

    class Agent:
        directory_url = "sqlite:///nowhere.sqlite"

    assert collector(Agent()).directory_url == "sqlite:///nowhere.sqlite"
    assert "gin_vpn" not in _scrape(collector(object()))  # no directory: nothing, no default DB


def test_planned_tunnels_are_not_scraped(vdir):
    with vdir.transaction() as s:
        create_tunnel(s, "gw-dopa", "gw-moph", "wireguard", name="wg1")
    text = _scrape(VpnCollector(vdir.engine.url.render_as_string(hide_password=False),
                                min_interval=0))
    assert "gin_vpn_status_read_ok 1.0" in text and 'tunnel="wg1"' not in text


def test_unreadable_directory_reports_read_failure(tmp_path):
    text = _scrape(VpnCollector(f"sqlite:///{tmp_path}", min_interval=0))  # a folder
    assert "gin_vpn_status_read_ok 0.0" in text and "gin_vpn_tunnel_up" in text
