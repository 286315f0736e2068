"""The threat sensor: packets in (pcap files or a live interface), threat events out.

Pipeline, one batch of packets at a time so per-packet Python work stays near zero:

    pcapfile / live  ->  parse (compiled field extraction)  ->  detectors (numpy, 1 s
    buckets, sliding windows)  ->  events (dedup, JSON lines)  +  metrics (Prometheus)

``respond`` turns an event's source into a GSI cut-off (nftables on a Linux gateway; on
the edge routers through ``edge``: FRR blackhole routes, IOS ACLs, Junos filters pushed,
read back and rolled back like link provisioning), recorded in the directory's change log.
"""
