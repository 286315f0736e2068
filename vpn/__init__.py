"""Site-to-site VPN tunnels between agencies: IKEv2/IPsec (strongSwan) and WireGuard.

Planning (the directory only, no device touched):

- :mod:`vpn.policy`  crypto policy as data (``data/policies.yaml``), proposals parsed token by
  token, weak choices refused unless explicitly accepted (then recorded for the audit);
- :mod:`vpn.keys`    WireGuard keys (X25519, as ``wg pubkey``), PSKs, sealing at rest;
- :mod:`vpn.pki`     the GIN VPN CA: gateway certificates, expiry, revocation, the CRL;
- :mod:`vpn.tunnels` tunnels in the directory (subnets from the agencies' prefixes, a
  WireGuard listen port per gateway), rotation kept pending until a deploy succeeds;
- :mod:`vpn.render`  ``swanctl.conf``, ``wg`` configs and router configs, secrets as
  placeholders.

Live (the gateways; ``gin vpn deploy|status|withdraw`` in :mod:`gin.commands.vpn_live`):

- :mod:`vpn.gateway` how a Linux gateway is reached (VICI socket, swanctl dir, exec prefix);
- :mod:`vpn.swanctl` a rendered ``swanctl.conf`` as the VICI messages charon loads;
- :mod:`vpn.deploy`  write, load, initiate, verify, record, or restore what was there;
  routers through the shared transport; pending rotations completed once up;
- :mod:`vpn.status`  live state over VICI and ``wg show dump``; :mod:`vpn.reasons` why
  a tunnel is down, in words; :mod:`vpn.metrics` the monitor agent's collector.
"""
