"""Deploy tunnels to their gateways: write, load, verify, record; or restore what was there.

Per tunnel, side ``b`` (the responder) is applied first, then side ``a`` (the initiator):

- strongSwan gateways: the rendered ``swanctl.conf`` (secrets unsealed only here) is written
  to the gateway's ``conf.d/`` and the same text is loaded over VICI (``load-conn``,
  ``load-shared``; certificates and keys from the gateway's swanctl dirs), as
  ``swanctl --load-all`` would.  Side ``a`` is then initiated over VICI and the control log
  streamed back gives the failure reason in words (:mod:`vpn.reasons`).
- WireGuard: the ``wg`` config is written (0600) and applied with ``wg syncconf`` on an
  interface per tunnel (kernel WireGuard if the gateway has it, else ``wireguard-go``), with
  routes to the peer's subnets; verified by a handshake.
- Routers (Cisco, Juniper) get their side as every router change goes, through
  :func:`devices.converge.converge` over the configured transport (Netmiko or Ansible):
  under the router's change lock, only the lines its running config lacks are sent, read
  back and saved; the tunnel check is the converge's verification, and a failure puts the
  router back exactly to the running config read before the push.  Router sides are
  converged after the tunnel's gateway sides are loaded (a gateway initiator's IKE
  retransmissions reach a router responder configured a moment later).

A side whose file is identical and whose config is loaded is left alone: re-deploying with
no change changes nothing and says so.  When a side fails to apply or the tunnel does not
come up, every side applied so far (the failing one too) gets back exactly what it had: the
previous file and its conn/keys, or nothing (unloaded, interface removed); a certificate
tunnel's certificate, key, CA and CRL files too (a key charon did not hold before is
unloaded).  The directory keeps its state.  The directory records the outcome through the
store (status ``deployed`` or ``up``), so it is in the change log, with a ``vpn-deploy``
event carrying the reason.  Routers' changes are journaled in the directory the deploy was
given (the one the tunnel was planned from); the record of the outcome and the end of those
journal entries commit in one transaction, so a gin killed before the record leaves
entries that recovery resolves (the router goes back to its pre-image, as the directory
still says).  Gateway sides are journaled in the same table (:mod:`vpn.gateway_journal`:
the files gin manages there and what is loaded, sealed, written before the gateway is
touched) and end in that same transaction; a deploy first resolves what a dead one left on
its gateways (:func:`recover_gateways`: the pre-image put back, or a verified deploy
recorded).

Rotation (``gin vpn rotate``): a deploy loads the tunnel's *pending* secrets
(:func:`vpn.tunnels.for_deploy`); once both sides hold them (the tunnel came up, or was
loaded with ``--no-verify``, or already held them) the rotation is completed in the same
transaction that records the result (:func:`vpn.tunnels.complete_rotation`).  A deploy
that fails was rolled back, so the old secrets are still what both gateways hold: the
rotation stays pending.

Both ``deploy`` and ``withdraw`` take the step observer :func:`devices.converge.converge`
takes (:class:`devices.converge.Observer`), so a job's progress and log follow each
gateway as they follow each router.  A gateway side reports its rendering as its ``diff``
(the text it should hold, counted in lines), then ``read`` (what its file held), ``push``
(written and loaded), ``read_back`` (the connection or interface is there now); the tunnel
then ``verify`` (on side a's gateway) and the record of the outcomes ``save`` (device
None); a side put back reports ``restore``.  Router sides report their converge's steps.
As in converge, an observer that raises at a step's start stops that step (the tunnel is
then put back) and is never allowed to stop a restore.

``withdraw`` removes a tunnel from both ends: Linux gateways lose its conn, keys, files and
interface; routers, through the same converge, lose the lines only this tunnel needs
(keeping what the router's other tunnels share); the records go back to ``planned`` in the
transaction that ends the journal entries.  Its gateway sides are journaled as a deploy's
(pre-image: what the gateway held for the tunnel; intended: nothing), so a withdraw that
fails, or dies, puts both gateways back to what they held (or, once both had verified the
removal, recovery records the tunnel ``planned``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vici.exception import CommandException, SessionException

from devices import transport as transports
from devices.converge import (
    Convergence,
    DeviceChange,
    Observer,
    ObserverRefused,
    Step,
    StepEvent,
    Verification,
    converge,
)
from devices.errors import GinError, TransportError
from devices.journal import Journal
from devices.secrets import Secret
from devices.sessions import Sessions
from devices.targets import DeviceTarget, target_of
from devices.transport import DeviceTransport
from directory import models as m
from directory.changelog import log_event
from directory.store import Directory
from vpn import gateway_recovery, reasons, swanctl
from vpn.gateway import Gateway
from vpn.gateway_journal import GatewayJournal, Image
from vpn.render import linux_gateway, render_side
from vpn.tunnels import (
    TunnelSpec,
    complete_rotation,
    for_deploy,
    get_tunnel,
    list_tunnels,
    spec,
    tunnel_secrets,
)

#: result -> CLI exit code (as links: 3 device failure, 4 verification failed, rolled back)
EXIT = {"changed": 0, "no change": 0, "rolled back": 4, "failed": 3}
ROTATED = "; rotation complete: the new secrets are in force"
INITIATE_TIMEOUT_MS = 15000
HANDSHAKE_WAIT = 6.0  # WireGuard retries a handshake after 5 s (REKEY_TIMEOUT)
WORKERS = 8
#: charon serves a blocking ``initiate`` with one of its worker threads (16 by default):
#: too many at once on one gateway starve the threads that process the peers' replies
INITIATES_PER_GATEWAY = 4
_initiate_slots: dict[str, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _initiate_slot(gw: Gateway) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _initiate_slots.setdefault(gw.vici or gw.hostname,
                                          threading.BoundedSemaphore(INITIATES_PER_GATEWAY))


@dataclass
class DeployResult:
    """What happened to one tunnel."""

    tunnel: str
    result: str = "failed"
    message: str = ""
    reason: str | None = None
    sides: dict[str, str] = field(default_factory=dict)
    restored: bool | None = None
    certificates: list[str] = field(default_factory=list)  # serials now on the gateways
    #: the pending rotation's secrets are what both sides now hold: complete it
    rotated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"tunnel": self.tunnel, "result": self.result, "message": self.message,
                "reason": self.reason, "sides": self.sides, "restored": self.restored,
                "rotated": self.rotated}


@dataclass
class CredsPut:
    """What writing a gateway's credentials replaced, so a failed deploy can put it back."""

    #: each file changed -> its previous content (None: it was not there); may hold a key
    before: dict[Path, str | None] = field(default_factory=dict, repr=False)
    #: each file changed -> digest of what was written (restore only what is still ours)
    written: dict[Path, str] = field(default_factory=dict, repr=False)
    #: the identifier charon gave the private key loaded (to unload it again)
    key_id: str | None = None

    @property
    def changed(self) -> bool:
        """The certificate, key or CA changed (the CRL is re-signed at every deploy)."""
        return any(path.parent.name != "x509crl" for path in self.before)


@dataclass
class Side:
    """One gateway's part of a tunnel, rendered with its secrets (never printed)."""

    key: str  # "a" or "b"
    hostname: str
    platform: str
    gateway: Gateway | None
    text: str = field(repr=False)  # holds the unsealed secrets: never in a repr or a log
    target: DeviceTarget | None = None  # routers: how to reach them
    creds: Any = field(default=None, repr=False)  # vpn.pki.Credentials (cert tunnels)
    put: CredsPut | None = None  # what writing ``creds`` replaced on the gateway


def conn_name(tunnel: str) -> str:
    """The strongSwan connection (and CHILD_SA) name of a tunnel, as rendered."""
    from vpn.render import ident

    return f"gin-{ident(tunnel)}"


def wg_ifname(tunnel: str) -> str:
    """A WireGuard interface name per tunnel, at most 15 characters, stable."""
    if len(tunnel) <= 12:
        return f"wg-{tunnel}"
    return f"wg-{tunnel[:6]}{hashlib.sha256(tunnel.encode()).hexdigest()[:6]}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _write(path: Path, text: str | None) -> None:
    """Replace a file atomically (mode 0600: it may hold secrets); None removes it."""
    if text is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    tmp.replace(path)


def _vici(gw: Gateway, what: str, call: Callable[[Any], Any]) -> Any:
    """Run VICI calls; charon's refusal becomes one TransportError line."""
    try:
        with gw.session() as s:
            return call(s)
    except (CommandException, SessionException, OSError) as exc:
        raise TransportError(f"gateway {gw.hostname}: {what}: {exc}") from None


# --- strongSwan ---------------------------------------------------------------------------

def _names(values: Any) -> set[str]:
    return {v.decode() if isinstance(v, bytes) else str(v) for v in values or []}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _put_creds(gw: Gateway, creds: Any, put: CredsPut) -> None:
    """Write a gateway's certificate, key, CA and CRL (:mod:`vpn.pki`) into its swanctl dir,
    noting in ``put`` what each changed file held before."""
    if gw.swanctl_dir is None:
        raise TransportError(f"gateway {gw.hostname}: no swanctl_dir to put certificates in")
    for rel, content in creds.files().items():
        text = content.reveal() if isinstance(content, Secret) else content
        path = gw.swanctl_dir / rel
        old = _read(path)
        if old != text:
            put.before.setdefault(path, old)
            put.written[path] = _digest(text)
            _write(path, text)


def _restore_creds(gw: Gateway, put: CredsPut, s: Any) -> None:
    """Put back the credential files a failed deploy replaced (removing those that were not
    there), unless a later deploy wrote them since; a key charon did not hold is unloaded
    and the previous one loaded again."""
    for path, old in put.before.items():
        if (now := _read(path)) is not None and _digest(now) != put.written[path]:
            continue  # written since by another deploy: theirs now
        _write(path, old)
        if path.parent.name != "private":
            continue
        if old is not None:
            s.load_key({"type": "any", "data": old.encode()})
        if put.key_id:
            with contextlib.suppress(CommandException):
                s.unload_key({"id": put.key_id})


def _load_creds(s: Any, creds: Any) -> str | None:
    """CA certificate, CRL and private key over VICI (what ``swanctl --load-creds`` sends);
    returns the key's identifier."""
    s.load_cert({"type": "X509", "flag": "CA", "data": creds.ca_pem.encode()})
    s.load_cert({"type": "X509_CRL", "data": creds.crl_pem.encode()})
    reply = s.load_key({"type": "any", "data": creds.key_pem.reveal().encode()}) or {}
    key_id = reply.get("id")
    return _text(key_id) if key_id is not None else None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def ike_apply(gw: Gateway, tunnel: str, text: str, initiator: bool,
              creds: Any = None, initiate_later: bool = True,
              put: CredsPut | None = None) -> bool:
    """Write and load one side; False when it was already exactly this (nothing done).

    ``initiator``: side a.  Its old SAs are closed when its config changes, and with
    ``initiate_later`` deploy initiates it itself (to read the control log), so it is
    loaded without its start action.  ``creds`` (:class:`vpn.pki.Credentials`) are a
    certificate tunnel's gateway credentials; ``put`` records what writing them replaced
    (filled even when loading then fails, for :func:`ike_restore`).
    """
    path = gw.conf_file(tunnel)
    put = put if put is not None else CredsPut()
    if creds is not None:
        _put_creds(gw, creds, put)
    cfg = swanctl.parse(text, gw.swanctl_dir, source=str(path))
    old = _read(path)

    def load(s: Any) -> bool:
        loaded = _names(s.get_conns().get("conns"))
        shared = _names(s.get_shared().get("keys"))
        if (old == text and not put.changed and set(cfg.conns) <= loaded
                and {x["id"] for x in cfg.shared} <= shared):
            return False
        if creds is not None:
            put.key_id = _load_creds(s, creds)
        for sh in cfg.shared:
            s.load_shared(sh)
        for name, body in cfg.conns.items():
            if initiator and initiate_later:
                body = {**body, "children": {
                    c: {**child, "start_action": "none"}
                    for c, child in body.get("children", {}).items()}}
            if old is not None and initiator:  # the old SAs must not outlive the old config
                _terminate(s, name)
            s.load_conn({name: body})
        return True

    changed = _vici(gw, "loading the connection", load)
    if changed:
        _write(path, text)
    return changed


def _terminate(s: Any, name: str) -> None:
    with contextlib.suppress(CommandException):  # nothing to terminate is fine
        for _ in s.terminate({"ike": name, "force": "yes", "timeout": "-1"}):
            pass


def ike_restore(gw: Gateway, tunnel: str, old: str | None, new: str,
                put: CredsPut | None = None) -> None:
    """Put back the previous file and its conn/keys, or unload what ``new`` loaded; with
    ``put``, the credential files too (first: the restored conn reads its certificate
    there)."""
    path = gw.conf_file(tunnel)
    if put is not None and put.before:
        _vici(gw, "restoring the previous credentials", lambda s: _restore_creds(gw, put, s))
    if old is not None:
        cfg = swanctl.parse(old, gw.swanctl_dir, source=str(path))

        def reload(s: Any) -> None:
            for sh in cfg.shared:
                s.load_shared(sh)
            for name, body in cfg.conns.items():
                _terminate(s, name)
                s.load_conn({name: body})

        _vici(gw, "restoring the previous connection", reload)
    else:
        tree = swanctl.parse_tree(new, source=str(path))  # names only: no file is read

        def unload(s: Any) -> None:
            for name in tree.get("connections", {}):
                _terminate(s, name)
                with contextlib.suppress(CommandException):
                    s.unload_conn({"name": name})
            for sid in tree.get("secrets", {}):
                with contextlib.suppress(CommandException):
                    s.unload_shared({"id": sid})

        _vici(gw, "unloading the connection", unload)
    _write(path, old)


def ike_initiate(gw: Gateway, tunnel: str,
                 timeout_ms: int = INITIATE_TIMEOUT_MS) -> tuple[bool, str | None]:
    """Initiate the tunnel's CHILD_SA; (established, reason in words when not)."""
    name = conn_name(tunnel)
    lines: list[str] = []
    try:
        with _initiate_slot(gw), gw.session() as s:
            for event in s.initiate({"child": name, "ike": name, "timeout": str(timeout_ms),
                                     "loglevel": "1"}):
                msg = event.get("msg", b"")
                lines.append(msg.decode("utf-8", "replace") if isinstance(msg, bytes)
                             else str(msg))
    except (CommandException, SessionException, OSError) as exc:
        reason = (reasons.from_lines(lines)
                  or (reasons.from_log(gw.log, name) if gw.log else None)
                  or f"initiation failed: {str(exc).removeprefix('Command failed: ')}")
        return False, reason
    return True, None


# --- WireGuard ----------------------------------------------------------------------------

def _link_exists(gw: Gateway, ifname: str) -> bool:
    return gw.run(["ip", "link", "show", "dev", ifname], check=False).returncode == 0


def _create_wg(gw: Gateway, ifname: str) -> None:
    """Kernel WireGuard when the gateway's kernel has it, else wireguard-go (LAB-NOTES)."""
    if gw.run(["ip", "link", "add", ifname, "type", "wireguard"], check=False).returncode:
        gw.run(["wireguard-go", ifname])


def wg_apply(gw: Gateway, tunnel: str, text: str, peer_subnets: Sequence[str]) -> bool:
    """Write and apply one side; False when the interface already runs this config."""
    ifname = wg_ifname(tunnel)
    path = gw.wg_file(ifname)
    old = _read(path)
    exists = _link_exists(gw, ifname)
    if old == text and exists:
        return False
    if not exists:
        _create_wg(gw, ifname)
    _write(path, text)
    gw.run(["ip", "link", "set", ifname, "up"])
    gw.run(["wg", "syncconf", ifname, str(path)])
    routes = "".join(f"route replace {net} dev {ifname}\n" for net in peer_subnets)
    gw.run(["ip", "-batch", "-"], input=routes)
    return True


def wg_restore(gw: Gateway, tunnel: str, old: str | None) -> None:
    """Put back the previous config, or remove the interface (its routes go with it)."""
    ifname = wg_ifname(tunnel)
    path = gw.wg_file(ifname)
    if old is None:
        gw.run(["ip", "link", "del", ifname], check=False)
        _write(path, None)
        return
    _write(path, old)
    if not _link_exists(gw, ifname):  # removed (a withdraw put back): bring it back up
        _create_wg(gw, ifname)
        gw.run(["ip", "link", "set", ifname, "up"])
        gw.run(["wg", "syncconf", ifname, str(path)])
        routes = "".join(f"route replace {net} dev {ifname}\n" for net in _allowed_ips(old))
        gw.run(["ip", "-batch", "-"], input=routes)
        return
    gw.run(["wg", "syncconf", ifname, str(path)], check=False)


def _allowed_ips(text: str) -> list[str]:
    """The peer's subnets a ``wg`` config routes (its AllowedIPs: what deploy routes)."""
    out = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "AllowedIPs":
            out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def wg_handshake(gw: Gateway, tunnel: str, wait: float = HANDSHAKE_WAIT) -> bool:
    """True once the interface's peer has a handshake (polls ``wg show latest-handshakes``)."""
    ifname = wg_ifname(tunnel)
    deadline = time.monotonic() + wait
    while True:
        out = gw.run(["wg", "show", ifname, "latest-handshakes"], check=False).stdout
        if any(line.split()[-1] != "0" for line in out.splitlines() if line.split()):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


# --- routers ---------------------------------------------------------------------------

def router_changes(p: TunnelDeployment, keep: Mapping[str, Sequence[str]] | None = None
                   ) -> list[DeviceChange]:
    """The tunnel's router sides as device changes (b first): add what each lacks; a
    rollback that finds a router changed since keeps ``keep[host]`` (other tunnels')."""
    keep = keep or {}
    return [DeviceChange.toward(side.target, side.text, keep.get(side.hostname, ()))
            for side in p.sides if side.gateway is None and side.target is not None]


def router_withdraw(sessions: Sessions, side: Side, shared: Sequence[str] = (),
                    observer: Observer | None = None) -> list[str]:
    """Remove from a router the lines only this tunnel needs (not what ``shared``, its other
    tunnels' configs, needs too: the CA trustpoint); a router that keeps some of them is
    put back exactly and the withdraw fails."""
    assert side.target is not None
    done = converge(sessions, [DeviceChange.removing(side.target, side.text, shared)],
                    observer=observer)
    if not done.ok:
        raise TransportError(f"withdrawing from {side.hostname}: {done.message}")
    return done.diff.get(side.hostname, [])


# --- steps --------------------------------------------------------------------------------

@contextlib.contextmanager
def _step(observer: Observer | None, step: Step, device: str | None,
          lines: Sequence[str] = ()) -> Iterator[None]:
    """Report ``step`` around its work to ``observer`` (as converge reports its steps): a
    refusal at the start stops the step; a failure is reported and raised again."""
    if observer is None:
        yield
        return
    _start(observer, step, device, lines)
    try:
        yield
    except Exception as exc:
        with contextlib.suppress(Exception):  # the failure itself is what the caller gets
            observer(StepEvent(step, "failed", device, tuple(lines), error=str(exc)))
        raise
    observer(StepEvent(step, "done", device, tuple(lines)))


def _start(observer: Observer, step: Step, device: str | None,
           lines: Sequence[str] = ()) -> None:
    try:
        observer(StepEvent(step, "start", device, tuple(lines)))
    except Exception as exc:
        raise ObserverRefused(f"{device or 'record'}: {step} not started: the step could "
                              f"not be recorded: {exc}") from exc


def _told(observer: Observer | None, event: StepEvent) -> None:
    """Report what already happened (a restore, a render): never stopped by the observer."""
    if observer is not None:
        with contextlib.suppress(Exception):
            observer(event)


def _read_back(p: TunnelDeployment, side: Side) -> None:
    """The side as the gateway now holds it: its connections loaded (strongSwan) or its
    interface present (WireGuard); else a TransportError (the side is put back)."""
    gw = side.gateway
    assert gw is not None
    if p.spec.type == "ikev2":
        wanted = set(swanctl.parse_tree(side.text).get("connections", {}))
        loaded = _vici(gw, "reading back the connections",
                       lambda s: _names(s.get_conns().get("conns")))
        if missing := sorted(wanted - loaded):
            raise TransportError(f"gateway {gw.hostname}: {', '.join(missing)} not loaded "
                                 f"after loading it")
    elif not _link_exists(gw, wg_ifname(p.spec.name)):
        raise TransportError(f"gateway {gw.hostname}: interface {wg_ifname(p.spec.name)} "
                             f"missing after applying it")


# --- one tunnel ---------------------------------------------------------------------------

@dataclass
class TunnelDeployment:
    """A tunnel ready to deploy: both sides rendered, nothing sent yet."""

    spec: TunnelSpec
    sides: list[Side]  # b first, then a
    #: rendered with a pending rotation's secrets (complete it once they are deployed)
    pending: bool = False
    #: the directory it was planned from: where its router changes are journaled
    db: Any = field(default=None, repr=False)


def plan_tunnel(session: Any, tunnel: m.Tunnel,
                gateway_of: Callable[[m.Device], Gateway] = Gateway.of,
                deploying: bool = True) -> TunnelDeployment:
    """Render both sides with their secrets and find how to reach each gateway.

    A deploy loads a pending rotation's secrets and the gateways' certificates; a withdraw
    (``deploying=False``) renders the secrets in force on the devices, so a router's lines
    match what it holds, and needs no certificate.
    """
    from vpn import pki

    if deploying:
        s, sealed, pending = for_deploy(session, tunnel)
    else:
        s, sealed, pending = spec(tunnel), tunnel_secrets(session, tunnel), False
    sides = []
    for key, device in (("b", tunnel.b_device), ("a", tunnel.a_device)):
        text = render_side(s, key, sealed)
        linux = linux_gateway(device.platform)
        creds = (pki.credentials_for(session, device) if deploying and linux
                 and s.type == "ikev2" and s.auth == "cert" else None)
        sides.append(Side(key=key, hostname=device.hostname, platform=device.platform,
                          gateway=gateway_of(device) if linux else None, text=text,
                          target=None if linux else target_of(device), creds=creds))
    return TunnelDeployment(spec=s, sides=sides, pending=pending, db=session.get_bind())


def _snapshot(p: TunnelDeployment, side: Side) -> str | None:
    assert side.gateway is not None
    if p.spec.type == "ikev2":
        return _read(side.gateway.conf_file(p.spec.name))
    return _read(side.gateway.wg_file(wg_ifname(p.spec.name)))


def _gateway_file(gw: Gateway, type_: str, tunnel: str) -> Path:
    return gw.conf_file(tunnel) if type_ == "ikev2" else gw.wg_file(wg_ifname(tunnel))


def gateway_image(gw: Gateway, type_: str, tunnel: str, paths: Sequence[str] = ()) -> Image:
    """What ``gw`` holds for ``tunnel`` now: the files gin manages there (the tunnel's file,
    and ``paths``: a certificate tunnel's credentials), whether the connection (strongSwan)
    or interface (WireGuard) is loaded, and with credentials the private keys charon holds
    (the journal's pre-image)."""
    main = str(_gateway_file(gw, type_, tunnel))
    files = {p: _read(Path(p)) for p in dict.fromkeys([main, *paths])}
    keys = None
    if type_ == "ikev2":
        def read(s: Any) -> tuple[bool, tuple[str, ...] | None]:
            loaded = conn_name(tunnel) in _names(s.get_conns().get("conns"))
            held = (tuple(sorted(_names(s.get_keys().get("keys"))))
                    if any(Path(p).parent.name == "private" for p in files) else None)
            return loaded, held

        loaded, keys = _vici(gw, "reading the connections", read)
    else:
        loaded = _link_exists(gw, wg_ifname(tunnel))
    return Image(files, loaded, keys)


def _cred_paths(side: Side) -> dict[str, str]:
    """A certificate tunnel side's credential files -> what the deploy writes there."""
    if side.creds is None or side.gateway is None or side.gateway.swanctl_dir is None:
        return {}
    return {str(side.gateway.swanctl_dir / rel): (c.reveal() if isinstance(c, Secret) else c)
            for rel, c in side.creds.files().items()}


def _put_back_gateway(gw: Gateway, type_: str, tunnel: str, pre: Image, want: Image) -> None:
    """A journal pre-image back on its gateway: the files byte for byte, the connection
    (re)loaded or unloaded, the interface synced or removed, the private keys charon
    holds as they were."""
    main = str(_gateway_file(gw, type_, tunnel))
    old, new = pre.files.get(main), want.files.get(main) or ""
    for path, text in pre.files.items():
        if path != main:
            _write(Path(path), text)
    if type_ == "ikev2":
        ike_restore(gw, tunnel, old if pre.loaded else None, new)
        if pre.keys is not None:
            _vici(gw, "putting back the private keys", lambda s: _keys_back(s, pre))
    else:
        wg_restore(gw, tunnel, old if pre.loaded else None)
    _write(Path(main), old)


def _keys_back(s: Any, pre: Image) -> None:
    """Unload the private keys charon did not hold before; load back the one it did."""
    for key_id in _names(s.get_keys().get("keys")) - set(pre.keys or ()):
        with contextlib.suppress(CommandException):
            s.unload_key({"id": key_id})
    for path, text in pre.files.items():
        if Path(path).parent.name == "private" and text is not None:
            s.load_key({"type": "any", "data": text.encode()})


GATEWAY_OPS = gateway_recovery.GatewayOps(gateway_image, _put_back_gateway)


def recover_gateways(directory: Directory, hosts: Sequence[str] = (),
                     gateway_of: Callable[[m.Device], Gateway] = Gateway.of
                     ) -> list[gateway_recovery.Recovered]:
    """Resolve the gateway changes dead gin processes left unfinished (all, or ``hosts``'):
    each gateway gets its pre-image back, or a deploy that had verified is recorded
    (:mod:`vpn.gateway_recovery`).  A deploy runs it for its gateways before touching them."""
    return gateway_recovery.recover(directory, GATEWAY_OPS, hosts, gateway_of)


def _journal_open(gj: GatewayJournal, p: TunnelDeployment, side: Side) -> None:
    """The side's journal entry, before its gateway is touched."""
    assert side.gateway is not None
    gw, t = side.gateway, p.spec.type
    creds = _cred_paths(side)
    want = Image({str(_gateway_file(gw, t, p.spec.name)): side.text, **creds}, True)
    gj.open(side.hostname, side.key, gateway_image(gw, t, p.spec.name, list(creds)), want,
            pending=p.pending, serial=side.creds.serial if side.creds is not None else None)


def _apply(p: TunnelDeployment, side: Side, verify: bool = True) -> bool:
    """Write and load one gateway side."""
    assert side.gateway is not None
    if p.spec.type == "ikev2":
        side.put = CredsPut() if side.creds is not None else None
        return ike_apply(side.gateway, p.spec.name, side.text, initiator=side.key == "a",
                         creds=side.creds, initiate_later=verify, put=side.put)
    peer = p.spec.b if side.key == "a" else p.spec.a
    return wg_apply(side.gateway, p.spec.name, side.text, peer.subnets)


def _restore(p: TunnelDeployment, side: Side, old: str | None) -> None:
    """Put a gateway side back to ``old`` (None: remove it)."""
    assert side.gateway is not None
    if p.spec.type == "ikev2":
        ike_restore(side.gateway, p.spec.name, old, side.text, side.put)
    else:
        wg_restore(side.gateway, p.spec.name, old)


def _verify(p: TunnelDeployment) -> str | None:
    """None when the tunnel is up, else the reason in words."""
    a = next(s for s in p.sides if s.key == "a")
    if a.gateway is None:
        return None  # a router initiates by itself; status shows the result
    if p.spec.type == "ikev2":
        ok, reason = ike_initiate(a.gateway, p.spec.name)
        return None if ok else reason
    return None if wg_handshake(a.gateway, p.spec.name) else reasons.NO_HANDSHAKE


def _verify_told(p: TunnelDeployment, observer: Observer | None) -> str | None:
    """:func:`_verify` as the ``verify`` step of side a's gateway (failed: the reason)."""
    host = next(sd.hostname for sd in p.sides if sd.key == "a")
    if observer is not None:
        _start(observer, Step.VERIFY, host)
    reason = _verify(p)
    _told(observer, StepEvent(Step.VERIFY, "done" if reason is None else "failed", host,
                              error=reason))
    return reason


def _tunnel_check(p: TunnelDeployment) -> Verification:
    check = Verification()
    reason = _verify(p)
    check.add("tunnel up", reason is None, reason or "")
    return check


def _transport(via: str | DeviceTransport) -> DeviceTransport:
    return transports.get(via) if isinstance(via, str) else via


def deploy_plan(p: TunnelDeployment, verify: bool = True,
                via: str | DeviceTransport = "netmiko", sessions: Sessions | None = None,
                keep: Mapping[str, Sequence[str]] | None = None,
                observer: Observer | None = None) -> DeployResult:
    """Apply one planned tunnel; on failure restore every side applied (see module doc).

    Router sides go through ``sessions`` (one per run, so routers are locked per device;
    a new one over the ``via`` transport when not given, journaling in the directory the
    tunnel was planned from).  ``observer`` is told each step (see module doc)."""
    res = DeployResult(p.spec.name)
    done: list[tuple[Side, str | None]] = []
    own_journal = sessions is None and any(sd.gateway is not None for sd in p.sides)
    journal = (sessions.journal if sessions is not None
               else Journal(p.db) if own_journal else None)
    gj = GatewayJournal(journal, p.spec.type, p.spec.name) if journal is not None else None
    try:
        for side in p.sides:
            if side.gateway is None:
                continue
            _told(observer, StepEvent(Step.DIFF, "done", side.hostname,
                                      tuple(side.text.splitlines())))
            with _step(observer, Step.READ, side.hostname):
                old = _snapshot(p, side)
            with _step(observer, Step.PUSH, side.hostname, side.text.splitlines()):
                if gj is not None:
                    _journal_open(gj, p, side)
                try:
                    changed = _apply(p, side, verify)
                except (GinError, OSError):
                    done.append((side, old))  # partly applied (files, creds): undo it too
                    raise
            res.sides[side.hostname] = "changed" if changed else "no change"
            if changed:
                done.append((side, old))
            if gj is not None:
                gj.mark(side.hostname, "pushed", "push")
            with _step(observer, Step.READ_BACK, side.hostname):
                _read_back(p, side)
            if gj is not None:
                gj.mark(side.hostname, "read_back", "read_back")
        routers, routers_pushed = router_changes(p, keep), False
        if routers:
            if sessions is None:
                if p.db is None:
                    raise GinError(f"tunnel {p.spec.name}: planned without a directory, so "
                                   f"its router changes could not be journaled: plan it "
                                   f"with vpn.deploy.plan_tunnel")
                with Sessions(_transport(via), db=p.db) as own:
                    run = _converge_routers(p, own, routers, verify, bool(done), observer)
            else:
                run = _converge_routers(p, sessions, routers, verify, bool(done), observer)
            _router_sides(res, run)
            res.restored = run.restored
            if run.status == "rolled back" or run.failed_step == Step.VERIFY:
                res.result, res.reason = "rolled back", "; ".join(run.reasons)
                res.message = f"did not come up: {res.reason}"
                return _undo(p, done, res, observer, gj)
            if not run.ok:  # a router refused: it was put back by its converge
                raise TransportError(run.message)
            routers_pushed = run.pushed
        if not done and not routers_pushed:
            res.result, res.message = "no change", "already deployed as rendered"
            res.rotated = p.pending  # the gateways hold the pending secrets already
            res.message += ROTATED if p.pending else ""
            if gj is not None:
                gj.verified(next(sd.hostname for sd in p.sides if sd.key == "a"))
                if own_journal:
                    gj.journal.finish()  # no record follows a plan deployed on its own
            return res
        reason = None if (routers or not verify) else _verify_told(p, observer)
        if reason is None:
            if gj is not None:  # only the record is left: recovery records it
                gj.verified(next(sd.hostname for sd in p.sides if sd.key == "a"))
            res.certificates = [sd.creds.serial for sd in p.sides if sd.creds is not None]
            res.rotated = p.pending
            res.result = "changed"
            res.message = ("up" if verify else "loaded (not verified)") + (
                ROTATED if p.pending else "")
            if own_journal and gj is not None:
                gj.journal.finish()  # no record follows a plan deployed on its own
            return res
        res.result, res.reason = "rolled back", reason
        res.message = f"did not come up: {reason}"
    except (GinError, OSError) as exc:
        res.result, res.message = "failed", str(exc)
    return _undo(p, done, res, observer, gj)


def _converge_routers(p: TunnelDeployment, sessions: Sessions, routers: list[DeviceChange],
                      verify: bool, gateways_changed: bool,
                      observer: Observer | None = None) -> Convergence:
    """The router sides, verified with the tunnel (when asked) once they are pushed."""
    return converge(sessions, routers, verify=(lambda conns: _tunnel_check(p)) if verify
                    else None, verify_unchanged=gateways_changed, observer=observer)


def _router_sides(res: DeployResult, run: Convergence) -> None:
    for host, out in run.devices.items():
        if out.restored is not None:
            res.sides[host] = "restored" if out.restored else "not restored"
        else:
            res.sides[host] = "changed" if out.pushed else "no change"


def _undo(p: TunnelDeployment, done: list[tuple[Side, str | None]],
          res: DeployResult, observer: Observer | None = None,
          gj: GatewayJournal | None = None) -> DeployResult:
    """Restore the gateway sides applied (routers were restored by their converge); their
    journal entries end ``restored`` (``restore_failed``: recovery tries again)."""
    ok = res.restored is not False
    for side, old in reversed(done):
        _told(observer, StepEvent(Step.RESTORE, "start", side.hostname))
        _journaled(gj, side.hostname, "restoring")
        try:
            _restore(p, side, old)
            res.sides[side.hostname] = "restored"
            _told(observer, StepEvent(Step.RESTORE, "done", side.hostname))
            _journaled(gj, side.hostname, "restored")
        except (GinError, OSError) as exc:
            ok = False
            res.sides[side.hostname] = f"not restored: {exc}"
            _told(observer, StepEvent(Step.RESTORE, "failed", side.hostname, error=str(exc)))
            _journaled(gj, side.hostname, "restore_failed")
    if gj is not None:  # sides opened but not changed: nothing to undo there
        for host in gj.entries:
            _journaled(gj, host, "restored", only_open=True)
    res.restored = ok
    return res


def _journaled(gj: GatewayJournal | None, host: str, state: str,
               only_open: bool = False) -> None:
    """Move a gateway's entry during a restore: never allowed to stop the restore."""
    if gj is None or host not in gj.entries:
        return
    with contextlib.suppress(GinError):
        if only_open:
            gj.journal.mark_if(gj.entries[host], ("pushing", "pushed", "read_back"), state)
        else:
            gj.journal.mark(gj.entries[host], state)


def _others_on_routers(p: TunnelDeployment, plans: Iterable[TunnelDeployment]
                       ) -> dict[str, list[str]]:
    """What the run's other tunnels put on this tunnel's routers (a rollback keeps it)."""
    hosts = {sd.hostname for sd in p.sides if sd.gateway is None}
    out: dict[str, list[str]] = {}
    for other in plans:
        for sd in other.sides:
            if other is not p and sd.gateway is None and sd.hostname in hosts:
                out.setdefault(sd.hostname, []).append(sd.text)
    return out


def deploy(directory: Directory, names: Sequence[str], verify: bool = True,
           via: str | DeviceTransport = "netmiko", workers: int = WORKERS,
           gateway_of: Callable[[m.Device], Gateway] = Gateway.of,
           observer: Observer | None = None) -> list[DeployResult]:
    """Deploy tunnels by name (concurrently) and record each outcome in the directory,
    in the transaction that ends the routers' journal entries (``via``: a transport's
    name, or the transport itself; ``observer``: told each step, from the deploy's
    threads, see module doc)."""
    plans: dict[str, TunnelDeployment] = {}
    results: dict[str, DeployResult] = {}
    with directory.transaction() as s:
        for name in dict.fromkeys(names):
            tunnel = get_tunnel(s, name)
            try:
                plans[name] = plan_tunnel(s, tunnel, gateway_of)
            except GinError as exc:  # this tunnel cannot be rendered or reached: the others go on
                results[name] = DeployResult(name, "failed", str(exc))
    gateways = sorted({sd.hostname for p in plans.values() for sd in p.sides
                       if sd.gateway is not None})
    unresolved = {r.device: r.action for r in (
        recover_gateways(directory, gateways, gateway_of) if gateways else []) if not r.ok}
    for name, p in list(plans.items()):
        if bad := next((h for h in unresolved if h in {sd.hostname for sd in p.sides}), None):
            results[name] = DeployResult(name, "failed", f"gateway {bad}: an interrupted "
                                         f"change could not be undone ({unresolved[bad]}); "
                                         f"fix it by hand, then deploy again")
            del plans[name]
    with Sessions(_transport(via), db=directory.engine) as sessions:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(plans) or 1))) as pool:
            for res in pool.map(lambda p: deploy_plan(p, verify, via, sessions,
                                                      _others_on_routers(p, plans.values()),
                                                      observer),
                                plans.values()):
                results[res.tunnel] = res
        ordered = [results[n] for n in dict.fromkeys(names)]
        with _recording(observer):
            record(directory, ordered, verify, sessions)
    revoke_replaced(directory, [(plans[r.tunnel], r) for r in ordered
                                if r.rotated and r.certificates])
    return ordered


@contextlib.contextmanager
def _recording(observer: Observer | None) -> Iterator[None]:
    """The record of the outcomes as the run's last step (``save``, device None).  The
    devices are changed already: an observer cannot stop the record, only be told."""
    _told(observer, StepEvent(Step.SAVE, "start", None))
    try:
        yield
    except Exception as exc:
        _told(observer, StepEvent(Step.SAVE, "failed", None, error=str(exc)))
        raise
    _told(observer, StepEvent(Step.SAVE, "done", None))


def revoke_replaced(directory: Directory,
                    done: Sequence[tuple[TunnelDeployment, DeployResult]]) -> None:
    """After certificate rotations completed (:func:`record` revoked the old certificates as
    superseded), load the CRL that lists them on the tunnels' gateways: the old certificates
    stop being accepted now, not at some later deploy.  A gateway that cannot take it is
    named in the result's message."""
    from vpn import pki

    if not done:
        return
    with directory.transaction() as s:
        crl = pki.crl_bytes(s, "pem").decode("ascii")
    for p, res in done:
        for side in p.sides:
            gw = side.gateway
            if gw is None or side.creds is None or gw.swanctl_dir is None:
                continue
            try:
                _write(gw.swanctl_dir / "x509crl" / f"{pki.CA_FILE}.crl", crl)
                _vici(gw, "loading the CRL", lambda s: s.load_cert(
                    {"type": "X509_CRL", "data": crl.encode()}))
            except (GinError, OSError) as exc:
                res.message += f"; old certificates not yet revoked on {gw.hostname}: {exc}"


def record(directory: Directory, results: Sequence[DeployResult], verify: bool,
           sessions: Sessions | None = None) -> None:
    """Write each tunnel's new state (through the store: in the change log) and an event;
    with the deploy's ``sessions``, their routers' journal entries end in that same
    transaction (both commit, or neither)."""
    from vpn import pki

    with directory.transaction() as s:
        if sessions is not None:
            sessions.journal.finish(s)
        for res in results:
            tunnel = get_tunnel(s, res.tunnel)
            for serial in res.certificates:
                pki.mark_deployed(s, serial)
            if res.rotated:
                complete_rotation(s, res.tunnel)
            if res.result == "changed":
                tunnel.status = "up" if verify else "deployed"
            elif res.result == "no change" and tunnel.status == "planned":
                tunnel.status = "deployed"
            if res.result != "no change":
                log_event(s, "vpn-deploy", tunnel, {
                    "result": res.result, "reason": res.reason, "message": res.message[:200],
                    "restored": res.restored})
        s.flush()



def _router_shared(session: Any, tunnel: m.Tunnel, device: m.Device) -> list[str]:
    """What the device's other live tunnels render on it (placeholders for secrets): the
    lines a withdraw must keep."""
    out = []
    for other in list_tunnels(session):
        if other.id == tunnel.id or other.status == "planned":
            continue
        for key in ("a", "b"):
            if getattr(other, f"{key}_device_id") == device.id:
                with contextlib.suppress(GinError):  # a tunnel that no longer renders
                    out.append(render_side(spec(other), key))
    return out


def withdraw(directory: Directory, names: Sequence[str],
             via: str | DeviceTransport = "netmiko",
             gateway_of: Callable[[m.Device], Gateway] = Gateway.of,
             observer: Observer | None = None) -> list[str]:
    """Remove tunnels from both ends: Linux gateways (conn, keys, files, interfaces) and
    routers (through the ``via`` transport, the lines only this tunnel needs); the records go back
    to ``planned``.  Returns the names withdrawn.  ``observer`` is told each gateway's
    ``push`` (the removal) and each router's converge steps, then the record's ``save``."""
    shared: dict[tuple[str, str], list[str]] = {}
    with directory.transaction() as s:
        plans = []
        for n in dict.fromkeys(names):
            tunnel = get_tunnel(s, n)
            plans.append(plan_tunnel(s, tunnel, gateway_of, deploying=False))
            for dev in (tunnel.a_device, tunnel.b_device):
                if not linux_gateway(dev.platform):
                    shared[(n, dev.hostname)] = _router_shared(s, tunnel, dev)
    with Sessions(_transport(via), db=directory.engine) as sessions:
        for p in plans:
            gj = GatewayJournal(sessions.journal, p.spec.type, p.spec.name)
            pre: dict[str, Image] = {}
            try:
                for side in p.sides:
                    if side.gateway is not None:
                        with _step(observer, Step.PUSH, side.hostname):
                            _withdraw_gateway(gj, p, side, pre)
                    else:
                        router_withdraw(sessions, side, shared[(p.spec.name, side.hostname)],
                                        observer)
                if gj.entries:  # only the record is left: recovery records it
                    gj.verified(next(sd.hostname for sd in p.sides if sd.key == "a"))
            except (GinError, OSError):
                _withdraw_undo(gj, p, pre, observer)
                raise
        with _recording(observer), directory.transaction() as s:
            sessions.journal.finish(s)  # the removals and the records commit together
            for p in plans:
                get_tunnel(s, p.spec.name).status = "planned"
    return [p.spec.name for p in plans]


def _withdraw_gateway(gj: GatewayJournal, p: TunnelDeployment, side: Side,
                      pre: dict[str, Image]) -> None:
    """Remove the tunnel from one gateway, journaled as a deploy's side is: the entry holds
    what the gateway holds for the tunnel (the pre-image) and intends nothing held; the
    removal is read back (no file, nothing loaded)."""
    gw, t, name = side.gateway, p.spec.type, p.spec.name
    assert gw is not None
    main = str(_gateway_file(gw, t, name))
    pre[side.hostname] = gateway_image(gw, t, name)
    gj.open(side.hostname, side.key, pre[side.hostname], Image({main: None}, False),
            withdraw=True)
    _restore(p, side, None)
    gj.mark(side.hostname, "pushed", "push")
    now = gateway_image(gw, t, name)
    if now.files.get(main) is not None or now.loaded:
        raise TransportError(f"gateway {gw.hostname}: tunnel {name} still there after "
                             f"removing it")
    gj.mark(side.hostname, "read_back", "read_back")


def _withdraw_undo(gj: GatewayJournal, p: TunnelDeployment, pre: Mapping[str, Image],
                   observer: Observer | None = None) -> None:
    """A withdraw that failed puts each gateway it touched back to its pre-image (its entry
    ends ``restored``; ``restore_failed``: recovery tries again)."""
    gws = {sd.hostname: sd.gateway for sd in p.sides if sd.gateway is not None}
    for host in reversed(list(gj.entries)):
        gw = gws[host]
        assert gw is not None
        _told(observer, StepEvent(Step.RESTORE, "start", host))
        _journaled(gj, host, "restoring")
        main = str(_gateway_file(gw, p.spec.type, p.spec.name))
        try:
            _put_back_gateway(gw, p.spec.type, p.spec.name, pre[host],
                              Image({main: None}, False))
            _told(observer, StepEvent(Step.RESTORE, "done", host))
            _journaled(gj, host, "restored")
        except (GinError, OSError) as exc:
            _told(observer, StepEvent(Step.RESTORE, "failed", host, error=str(exc)))
            _journaled(gj, host, "restore_failed")
