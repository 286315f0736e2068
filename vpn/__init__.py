"""Site-to-site VPN tunnels between agencies: IKEv2/IPsec (strongSwan) and WireGuard.

- :mod:`vpn.policy`  crypto policy as data (``data/policies.yaml``), proposals parsed token by
  token, weak choices refused unless explicitly accepted (then recorded for the audit);
- :mod:`vpn.keys`    WireGuard keys (X25519, as ``wg pubkey``), PSKs, sealing at rest;
- :mod:`vpn.tunnels` tunnels in the directory (subnets from the agencies' prefixes);
- :mod:`vpn.render`  ``swanctl.conf`` and ``wg`` configs, secrets as placeholders;
- :mod:`vpn.gateway` how a Linux gateway is reached (VICI socket, swanctl dir, exec prefix);
- :mod:`vpn.swanctl` a rendered ``swanctl.conf`` as the VICI messages charon loads;
- :mod:`vpn.deploy`  write, load, initiate, verify, record, or restore what was there;
- :mod:`vpn.status`  live state over VICI and ``wg show dump``; :mod:`vpn.reasons` why
  a tunnel is down, in words; :mod:`vpn.metrics` the monitor agent's collector.
"""
