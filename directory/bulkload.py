"""The importer's fast path: plain creations, resolved in memory, flushed in batches.

Why: the careful path (one savepoint, store look-ups with joined loads, and one flush per
row) runs at a few hundred rows a second; a national directory is tens of thousands of
rows.  Most rows of a big import are new objects whose references are other rows of the
same file, so here

- the natural keys already in the database are read once per kind (code -> id, ...);
- a new row becomes an ORM object with its foreign keys taken from those maps and from the
  objects made earlier in the run, after the same checks the store applies
  (``store.*_values`` and the link rules);
- objects are flushed in batches of :data:`BATCH` inside a savepoint, so the change log is
  still written for every row (the flush hook sees them all), in one multi-row insert;
- agencies, the bulk of a national import, skip the ORM: each batch is one Core
  ``INSERT ... RETURNING`` of many rows (parents in the same batch first, wave by wave),
  and their change-log rows -- the same snapshot the flush hook would write, from the
  returned rows -- go through the change log's one writer (hash chain included).

If a batch flush fails anyway (a rule only the database knows), the savepoint is rolled
back and that batch's rows go through the careful path one by one, so the error lands on
the right ``file:line``.  Rows that are not plain creations (existing keys in ``upsert`` or
``skip`` mode, prefixes, which need the allocator) always take the careful path.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from . import changelog, store
from . import models as m
from .errors import Conflict, DirectoryError, Invalid, NotFound
from .import_rules import LABEL, Checked, key_label, service_hosts
from .import_run import Run
from .import_writers import KNOWN_IDS

BATCH = 1000
FAST_KINDS = ("agencies", "sites", "devices", "interfaces", "links", "contacts", "services")
Key = tuple[Any, ...]


AGENCY = m.Agency.__table__
#: the agency columns a row is inserted with (each row names all: one executemany)
AGENCY_COLUMNS = ("code", "name_en", "name_th", "kind", "parent_id", "asn", "description")
#: (attribute, column) pairs the change log's snapshot of an agency holds
AGENCY_LOGGED = [(a.key, a.columns[0]) for a in inspect(m.Agency).column_attrs
                 if a.key not in changelog.NOISE]


class _NewAgency:
    """An agency queued for its batch's Core insert; ``id`` comes back with it."""

    __slots__ = ("values", "parent", "id")

    def __init__(self, values: dict[str, Any], parent: Any) -> None:
        self.values = values
        self.parent = parent  # an id, another _NewAgency, or None
        self.id: int | None = None

    def row(self) -> dict[str, Any]:
        row = {c: self.values.get(c) for c in AGENCY_COLUMNS}
        row["parent_id"] = (self.parent.id if isinstance(self.parent, _NewAgency)
                            else self.parent)
        row["kind"] = self.values.get("kind") or "department"  # the model's default
        return row


class BulkLoader:
    """Creates new rows of one import run quickly; see the module docstring."""

    def __init__(self, session: Session, run: Run) -> None:
        self.s = session
        self.run = run
        self.ids: dict[str, dict[Key, Any]] = {}
        self.linked_ids: set[int] = set()
        self.linked_new: set[Key] = set()
        self.batch: list[tuple[Checked, list[tuple[str, Key]]]] = []
        self.agencies: list[_NewAgency] = []  # this batch's, for the Core insert
        self.savepoint: SessionTransaction | None = None
        for kind in FAST_KINDS:
            self._load(kind)
        session.info[KNOWN_IDS] = self.ids  # prefixes look their owners up here

    def close(self) -> None:
        self.flush()
        self.s.info.pop(KNOWN_IDS, None)

    def _load(self, kind: str) -> None:
        s = self.s
        match kind:
            case "agencies":
                rows = s.execute(select(m.Agency.code, m.Agency.id))
            case "sites":
                rows = s.execute(select(m.Agency.code, m.Site.code, m.Site.id)
                                 .join(m.Agency, m.Site.agency_id == m.Agency.id))
            case "devices":
                rows = s.execute(select(m.Device.hostname, m.Device.id))
            case "interfaces":
                rows = s.execute(select(m.Device.hostname, m.Interface.name, m.Interface.id)
                                 .join(m.Device, m.Interface.device_id == m.Device.id))
            case "links":
                rows = s.execute(select(m.Link.name, m.Link.id))
                for a, b in s.execute(select(m.Link.a_interface_id, m.Link.b_interface_id)):
                    self.linked_ids.update((a, b))
            case "contacts":
                rows = s.execute(select(m.Agency.code, m.Contact.name, m.Contact.id)
                                 .join(m.Agency, m.Contact.agency_id == m.Agency.id))
            case "services":
                rows = s.execute(select(m.Agency.code, m.Service.name, m.Service.id)
                                 .join(m.Agency, m.Service.agency_id == m.Agency.id))
        self.ids[kind] = {tuple(r[:-1]): r[-1] for r in rows}

    # --- deciding ---------------------------------------------------------------------------

    def takes(self, item: Checked) -> bool:
        """True if the row is a plain creation this loader can make."""
        return item.kind in FAST_KINDS and item.key not in self.ids[item.kind]

    # --- creating ---------------------------------------------------------------------------

    def add(self, item: Checked) -> None:
        """Build the row's object(s) and queue them; a bad row is rejected, not raised."""
        if self.agencies and item.kind != "agencies":
            self.flush()  # other kinds refer to agencies by id
        if self.savepoint is None:
            self.savepoint = self.s.begin_nested()
        made: list[tuple[str, Key]] = []
        try:
            objs = getattr(self, f"_make_{item.kind}")(item.values, made)
        except NotFound as exc:
            self._forget(made)
            self.run.reject(item, self.run.blocked_by(item) or str(exc))
            return
        except DirectoryError as exc:
            self._forget(made)
            self.run.reject(item, str(exc))
            return
        if item.kind == "agencies":
            self.agencies.extend(objs)
        else:
            self.s.add_all(objs)
        self.ids[item.kind][item.key] = objs[-1]
        made.append((item.kind, item.key))
        self.batch.append((item, made))
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the queued batch; on failure redo its rows carefully, one by one."""
        if self.savepoint is None:
            return
        batch, savepoint, agencies = self.batch, self.savepoint, self.agencies
        self.batch, self.savepoint, self.agencies = [], None, []
        try:
            self._insert_agencies(agencies)
            self.s.flush()
        except (SQLAlchemyError, DirectoryError):
            savepoint.rollback()
            for _item, made in batch:
                self._forget(made)
            for item, _made in batch:
                self.run.apply(item)
            for kind in FAST_KINDS:  # the careful path may have created what maps lack
                self._load(kind)
            return
        savepoint.commit()
        for item, made in batch:
            self.run.report.created[item.kind] += 1
            for kind, key in made:  # keep ids, not objects: memory stays bounded by a batch
                ref = self.ids[kind].get(key) if kind != "links-end" else None
                if ref is not None and not isinstance(ref, int) and ref.id is not None:
                    self.ids[kind][key] = ref.id

    def _insert_agencies(self, todo: list[_NewAgency]) -> None:
        """The batch's agencies in Core inserts (a wave per depth of parents made in this
        batch), then their change-log rows, as the flush hook would write them."""
        conn = self.s.connection()
        made: list[tuple[_NewAgency, Any]] = []
        while todo:
            ready = [a for a in todo if not isinstance(a.parent, _NewAgency)
                     or a.parent.id is not None]
            if not ready:
                raise Invalid("agency: a parent in this batch was never written")
            rows = conn.execute(insert(AGENCY).returning(*AGENCY.c,
                                                         sort_by_parameter_order=True),
                                [a.row() for a in ready]).all()
            for agency, row in zip(ready, rows, strict=True):
                agency.id = row.id
                made.append((agency, row))
            todo = [a for a in todo if a.id is None]
        if not made:
            return
        now, actor = m.utcnow(), self.s.info.get("actor") or "unknown"
        changelog.write(self.s, [
            {"time": now, "actor": actor, "action": "create",
             "object_type": AGENCY.name, "object_id": row.id,
             "object_key": row.code[:255], "before": None,
             "after": {key: changelog.redact(key, row._mapping[col])
                       for key, col in AGENCY_LOGGED}}
            for _agency, row in made])

    def _forget(self, made: list[tuple[str, Key]]) -> None:
        for kind, key in made:
            if kind == "links-end":
                self.linked_new.discard(key)
            else:
                self.ids[kind].pop(key, None)

    def _ref(self, kind: str, key: Key) -> Any:
        ref = self.ids[kind].get(key)
        if ref is None:
            label = key_label(kind, key)
            raise NotFound(f"{LABEL[kind]}: {label!r} not found in the file or the directory")
        return ref

    @staticmethod
    def _fk(obj: Any, column: str, relation: str, ref: Any) -> None:
        """Point ``obj`` at ``ref``: by id when it has one, else by object (same batch)."""
        if isinstance(ref, int):
            setattr(obj, column, ref)
        elif ref.id is not None:
            setattr(obj, column, ref.id)
        else:
            setattr(obj, relation, ref)

    def _make_agencies(self, v: dict[str, Any], made: list[tuple[str, Key]]) -> list[Any]:
        values = store.agency_values(self.s, {k: x for k, x in v.items() if k != "parent"})
        parent = self._ref("agencies", (v["parent"],)) if v.get("parent") else None
        if parent is not None and not isinstance(parent, int | _NewAgency):
            parent = parent.id  # an ORM object, flushed by an earlier batch
        return [_NewAgency(values, parent)]

    def _make_sites(self, v: dict[str, Any], made: list[tuple[str, Key]]) -> list[Any]:
        values = store.site_values({k: x for k, x in v.items() if k != "agency"})
        obj = m.Site(**values)
        self._fk(obj, "agency_id", "agency", self._ref("agencies", (v["agency"],)))
        return [obj]

    def _make_devices(self, v: dict[str, Any], made: list[tuple[str, Key]]) -> list[Any]:
        values = store.device_values({k: x for k, x in v.items() if k not in ("agency", "site")})
        self._ref("agencies", (v["agency"],))
        obj = m.Device(**values)
        self._fk(obj, "site_id", "site", self._ref("sites", (v["agency"], v["site"])))
        return [obj]

    def _make_interfaces(self, v: dict[str, Any], made: list[tuple[str, Key]]) -> list[Any]:
        enabled = v.get("enabled")
        obj = m.Interface(name=v["name"], description=v.get("description"),
                          speed_mbps=v.get("speed_mbps"),
                          enabled=True if enabled is None else enabled)
        self._fk(obj, "device_id", "device", self._ref("devices", (v["device"],)))
        return [obj]

    def _make_links(self, v: dict[str, Any], made: list[tuple[str, Key]]) -> list[Any]:
        name = v["name"]
        if v["a_device"] == v["b_device"]:
            raise Invalid(f"link: {name} has both ends on device {v['a_device']}")
        new: list[Any] = []
        ends = []
        for side in ("a", "b"):
            key = (v[f"{side}_device"], v[f"{side}_interface"])
            ref = self.ids["interfaces"].get(key)
            if ref is None:  # like store.ensure_interface: create the port on the fly
                ref = m.Interface(name=key[1], enabled=True)
                self._fk(ref, "device_id", "device", self._ref("devices", (key[0],)))
                self.ids["interfaces"][key] = ref
                made.append(("interfaces", key))
                new.append(ref)
            rid = ref if isinstance(ref, int) else ref.id
            if key in self.linked_new or (rid is not None and rid in self.linked_ids):
                raise Conflict(f"{side}_interface: interface {key[0]}:{key[1]} already carries "
                               "a link")
            ends.append((key, ref))
        link = m.Link(name=name, status=v.get("status") or "planned",
                      bandwidth_mbps=v.get("bandwidth_mbps"), description=v.get("description"))
        for (key, ref), side in zip(ends, ("a", "b"), strict=True):
            self._fk(link, f"{side}_interface_id", f"{side}_interface", ref)
            self.linked_new.add(key)
            made.append(("links-end", key))
        if v.get("agency"):
            self._fk(link, "agency_id", "agency", self._ref("agencies", (v["agency"],)))
            if v.get("site"):
                self._fk(link, "site_id", "site", self._ref("sites", (v["agency"], v["site"])))
        return [*new, link]

    def _make_contacts(self, v: dict[str, Any], made: list[tuple[str, Key]]) -> list[Any]:
        obj = m.Contact(name=v["name"], role=v.get("role"), email=v.get("email"),
                        phone=v.get("phone"))
        self._fk(obj, "agency_id", "agency", self._ref("agencies", (v["agency"],)))
        return [obj]

    def _make_services(self, v: dict[str, Any], made: list[tuple[str, Key]]) -> list[Any]:
        """Values were checked as ``store.add_service`` checks them (:mod:`.import_rules`)."""
        hosts = v.get("hosts") or service_hosts(v["url"], [])
        obj = m.Service(name=v["name"], url=v["url"], hosts=hosts,
                        description=v.get("description"))
        self._fk(obj, "agency_id", "agency", self._ref("agencies", (v["agency"],)))
        return [obj]
