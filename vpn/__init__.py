"""gin vpn package (built by its own issue)."""
