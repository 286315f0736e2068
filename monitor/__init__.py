"""Monitoring: SNMP health, traps and the threat sensor, exported to Prometheus."""
