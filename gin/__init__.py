"""gin: toolkit for a government information network (directory, links, VPNs, monitor, audit)."""

__version__ = "0.1.0"
