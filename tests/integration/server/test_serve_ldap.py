"""LDAP logins against a real OpenLDAP ``slapd`` (Debian's) started here on 127.0.0.1 with a
throw-away mdb database, loaded with ``ldapadd``; ``gin serve --ldap-config`` on PostgreSQL.

A member of the SOC group logs in and holds the soc role (GSI blocks, no directory changes);
a user in no mapped group logs in with nothing; a wrong password is refused, then throttled;
LDAP cannot take over a local account; leaving the group takes the role away at next login.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from directory import models as m
from directory.identity import FREE_FAILURES_USER, LDAP_MARK
from gin.server.ldap import LdapConfigError, load_config

SUFFIX = "dc=gin,dc=test"
ROOT_PW = "slapd-root-secret"
ALICE_PW = "alice-ldap-password"
BOB_PW = "bob-ldap-password"
SOC = f"cn=gin-soc,ou=groups,{SUFFIX}"
MOI = f"cn=moi-net,ou=groups,{SUFFIX}"

LDIF = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: GIN test
dc: gin

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: alice
cn: Alice Srisuk
sn: Srisuk
displayName: อลิซ ศรีสุข
userPassword: {ALICE_PW}

dn: uid=bob,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: bob
cn: Bob Nakorn
sn: Nakorn
userPassword: {BOB_PW}

dn: uid=admin,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: admin
cn: LDAP Admin Namesake
sn: Namesake
userPassword: {ALICE_PW}

dn: {SOC}
objectClass: groupOfNames
cn: gin-soc
member: uid=alice,ou=people,{SUFFIX}
member: uid=admin,ou=people,{SUFFIX}

dn: {MOI}
objectClass: groupOfNames
cn: moi-net
member: uid=alice,ou=people,{SUFFIX}

dn: cn=unmapped,ou=groups,{SUFFIX}
objectClass: groupOfNames
cn: unmapped
member: uid=bob,ou=people,{SUFFIX}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def slapd(tmp_path) -> Iterator[str]:
    """A running slapd on 127.0.0.1 (its URI), loaded with the people and groups above."""
    if not shutil.which("slapd") or not shutil.which("ldapadd"):
        pytest.skip("needs Debian slapd and ldap-utils (deps/apt-serve.txt)")
    base = tmp_path / "slapd"
    (base / "db").mkdir(parents=True)
    conf = base / "slapd.conf"
    conf.write_text(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {base}/slapd.pid
argsfile {base}/slapd.args
database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "cn=admin,{SUFFIX}"
rootpw {ROOT_PW}
directory {base}/db
access to attrs=userPassword by anonymous auth by * none
access to * by * read
""")
    uri = f"ldap://127.0.0.1:{free_port()}"
    log = (base / "slapd.log").open("w")
    proc = subprocess.Popen(["slapd", "-d", "0", "-f", str(conf), "-h", uri + "/"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60  # a bound for a wedged start, not a speed check
        while subprocess.run(["ldapsearch", "-x", "-H", uri, "-b", "", "-s", "base"],
                             capture_output=True).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"slapd did not start: {(base / 'slapd.log').read_text()}")
            time.sleep(0.1)
        subprocess.run(["ldapadd", "-x", "-H", uri, "-D", f"cn=admin,{SUFFIX}", "-w", ROOT_PW],
                       input=LDIF, text=True, check=True, capture_output=True)
        yield uri
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def ldap_config(tmp_path: Path, uri: str) -> Path:
    path = tmp_path / "ldap.yaml"
    path.write_text(f"""AUTH_LDAP_SERVER_URI: {uri}
AUTH_LDAP_USER_DN_TEMPLATE: "uid=%(user)s,ou=people,{SUFFIX}"
AUTH_LDAP_GROUP_SEARCH_BASE: "ou=groups,{SUFFIX}"
AUTH_LDAP_GROUP_ROLES:
  "{SOC}": "soc:gin"
  "CN=moi-net, ou=groups, {SUFFIX}": ["engineer:ministry:MOI"]
""", encoding="utf-8")
    return path


def login(svc, user: str, password: str):
    return svc.client().post("/auth/login", json={"user": user, "password": password})


def test_ldap_logins_take_roles_from_groups(pg_url, serve, slapd, tmp_path):
    svc = serve(pg_url, "--ldap-config", str(ldap_config(tmp_path, slapd)))

    # alice: in the SOC and MOI groups -> soc over the GIN, engineer over MOI's tree
    answer = login(svc, "alice", ALICE_PW)
    assert answer.status_code == 200, answer.text
    alice = svc.client(token=answer.json()["token"])
    me = alice.get("/me").json()
    assert me["actor"].startswith("api:alice/token:login-")
    perms = {p for g in me["grants"] for p in g["permissions"]}
    assert "gsi.block" in perms and "monitor.read" in perms
    assert {g["scope"] for g in me["grants"]} == {"gin", "ministry"}
    # soc reads the change log over the whole GIN (viewers may not) ...
    assert alice.get("/changes?limit=1").status_code == 200
    # ... and, as engineer over MOI, changes DOPA (under MOI) but not MOF's agencies
    etag = alice.get("/agencies/DOPA").headers["ETag"]
    changed = alice.patch("/agencies/DOPA", json={"description": "set through LDAP"},
                          headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert alice.get("/agencies/RD").status_code == 200  # soc reads the whole GIN
    refused = alice.patch("/agencies/RD", json={"description": "x"}, headers={"If-Match": "x"})
    assert refused.status_code == 403, refused.text

    d = svc.directory()
    try:
        with d.transaction() as s:
            user = s.scalars(select(m.User).where(m.User.name == "alice")).one()
            assert user.password_hash == LDAP_MARK  # no local password: LDAP only
            assert user.full_name == "อลิซ ศรีสุข"
            actors = set(s.scalars(select(m.Change.actor)
                                  .where(m.Change.object_key == "DOPA")))
            assert any(a.startswith("api:alice/token:login-") for a in actors), actors
    finally:
        d.close()

    # bob: a member of a group that maps to nothing -> logs in, may do nothing
    answer = login(svc, "bob", BOB_PW)
    assert answer.status_code == 200, answer.text
    bob = svc.client(token=answer.json()["token"])
    assert bob.get("/me").json()["grants"] == []
    assert bob.get("/agencies").status_code == 403
    assert bob.get("/changes").status_code == 403

    # LDAP never takes over a local account of the same name (admin has a local password)
    assert login(svc, "admin", ALICE_PW).status_code == 401

    # an empty password is not an anonymous bind that "succeeds"
    assert login(svc, "carol", "").status_code == 401

    # wrong passwords are refused, then throttled (even the right one, while the wait lasts)
    for _ in range(FREE_FAILURES_USER):
        assert login(svc, "bob", "not-bobs-password").status_code == 401
    throttled = login(svc, "bob", BOB_PW)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0


def test_leaving_a_group_takes_the_role_away(pg_url, serve, slapd, tmp_path):
    svc = serve(pg_url, "--ldap-config", str(ldap_config(tmp_path, slapd)))
    assert login(svc, "alice", ALICE_PW).status_code == 200
    change = (f"dn: {SOC}\nchangetype: modify\ndelete: member\n"
              f"member: uid=alice,ou=people,{SUFFIX}\n")
    subprocess.run(["ldapmodify", "-x", "-H", slapd, "-D", f"cn=admin,{SUFFIX}", "-w", ROOT_PW],
                   input=change, text=True, check=True, capture_output=True)
    answer = login(svc, "alice", ALICE_PW)
    assert answer.status_code == 200, answer.text
    me = svc.client(token=answer.json()["token"]).get("/me").json()
    assert [g["scope"] for g in me["grants"]] == ["ministry"]
    assert "gsi.block" not in me["grants"][0]["permissions"]


def test_bad_ldap_config_is_one_clear_line(tmp_path):
    path = tmp_path / "ldap.yaml"
    path.write_text("AUTH_LDAP_SERVER_URI: ldap://127.0.0.1\nAUTH_LDAP_USER_DN_TEMPLATE: uid=x\n"
                    "AUTH_LDAP_GROUP_SEARCH_BASE: ou=g\nAUTH_LDAP_GROUP_ROLES: {a: 'soc:gin'}\n")
    with pytest.raises(LdapConfigError, match=r"AUTH_LDAP_USER_DN_TEMPLATE must contain"):
        load_config(path)
    path.write_text("AUTH_LDAP_SERVER_URI: ldap://127.0.0.1\n"
                    "AUTH_LDAP_USER_DN_TEMPLATE: 'uid=%(user)s'\n"
                    "AUTH_LDAP_GROUP_SEARCH_BASE: ou=g\nAUTH_LDAP_GROUP_ROLES: {a: 'soc:agency'}\n")
    with pytest.raises(LdapConfigError, match=r"AUTH_LDAP_GROUP_ROLES\[a\]: 'soc:agency'"):
        load_config(path)
