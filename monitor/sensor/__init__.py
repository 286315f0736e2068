"""The threat sensor: packets in (pcap files or a live interface), threat events out.

Pipeline, one batch of packets at a time so per-packet Python work stays near zero:

    pcapfile / live  ->  parse (compiled field extraction)  ->  detectors (numpy, 1 s
    buckets, sliding windows)  ->  events (dedup, JSON lines)  +  metrics (Prometheus)

``respond`` turns an event's source into a GSI cut-off (nftables on a Linux gateway, ACL
text for edge routers), recorded in the directory's change log.
"""
