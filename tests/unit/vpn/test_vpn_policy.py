"""Crypto policy: proposals parsed token by token, every weak class refused by name."""

from __future__ import annotations

import pytest

from vpn import policy as pol
from vpn.policy import PolicyError

BASE = {"ike": "aes256gcm16-prfsha384-ecp384", "esp": "aes256gcm16-ecp384",
        "ike_rekey_time": 14400, "ike_life_time": 15840, "esp_rekey_time": 3600,
        "esp_life_time": 3960}


def test_default_is_strong_and_parsed():
    p = pol.get_policy()
    assert p.ike.encryption == ("aes256gcm16",) and p.ike.prf == ("prfsha384",)
    assert p.ike.dh == ("ecp384",) and p.esp.dh == ("ecp384",) and p.weak == ()
    assert p.ike.aead and p.esp.aead


@pytest.mark.parametrize("name", pol.policy_names())
def test_every_shipped_policy_is_strong(name):
    assert pol.get_policy(name).weak == ()


@pytest.mark.parametrize("field,value,token", [
    ("ike", "des-sha256-prfsha256-modp2048", "des"),
    ("ike", "3des-sha256-modp2048", "3des"),
    ("ike", "aes256-md5-modp2048", "md5"),
    ("ike", "aes256-sha256-prfmd5-modp2048", "prfmd5"),
    ("ike", "aes256-sha1-modp2048", "sha1"),
    ("ike", "aes256gcm16-prfsha1-ecp384", "prfsha1"),
    ("ike", "aes256gcm16-prfsha384-modp768", "modp768"),
    ("ike", "aes256gcm16-prfsha384-modp1024", "modp1024"),
    ("ike", "aes256gcm16-prfsha384-modp1536", "modp1536"),
    ("esp", "aes256-sha1", "sha1"),
    ("esp", "aes256gcm16-modp1024", "modp1024"),
    ("esp", "null-sha256", "null"),
])
def test_weak_token_refused_by_name(field, value, token):
    with pytest.raises(PolicyError) as exc:
        pol.validate("t", {**BASE, field: value})
    message = str(exc.value)
    assert f"{field} {token}:" in message and "\n" not in message and "--allow-weak" in message


def test_allow_weak_returns_every_weakness():
    p = pol.validate("legacy", {**BASE, "ike": "3des-sha1-modp1024", "esp": "aes128-md5"},
                     allow_weak=True)
    assert [w.split(":")[0] for w in p.weak] == ["ike 3des", "ike sha1", "ike modp1024",
                                                 "esp md5"]
    assert "group 14" in p.weak[2]
    assert p.as_dict()["weak"] == list(p.weak)


@pytest.mark.parametrize("field,value,message", [
    ("ike", "aes256gcm16-prfsha384-ecp384-bogus", "unknown algorithm 'bogus'"),
    ("ike", "aes256gcm16-ecp384", "needs a PRF"),
    ("ike", "aes256gcm16-prfsha384", "no DH group"),
    ("ike", "aes256-prfsha384-ecp384", "needs an integrity"),
    ("ike", "aes256gcm16-sha256-prfsha384-ecp384", "not used with AEAD"),
    ("esp", "aes256gcm16-prfsha384", "only IKE has one"),
    ("ike", "sha256-prfsha256-ecp384", "no encryption"),
    ("ike", "", "expected keywords"),
    ("ike", "aes256gcm16-prfsha384-ecp384\nfoo", "unknown algorithm"),
    ("ike_rekey_time", 5, "whole seconds"),
    ("esp_life_time", 3000, "must exceed"),
    ("colour", "red", "unknown field"),
])
def test_malformed_policy_one_line(field, value, message):
    with pytest.raises(PolicyError) as exc:
        pol.validate("t", {**BASE, field: value})
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_tokens_are_classified_not_grepped():
    # "sha1" inside a name must not trip the check: only whole tokens count.
    p = pol.parse_proposal("aes256-sha512-modp2048", "ike")
    assert p.integrity == ("sha512",) and pol.weaknesses(p) == []


def test_unknown_policy_lists_known():
    with pytest.raises(PolicyError, match="known: default"):
        pol.get_policy("nope")


@pytest.mark.parametrize("psk,ok", [
    ("short", False),
    ("a" * 64, False),  # long but one repeated byte: a typed password, not random
    ("c2VjcmV0", False),  # base64 of 6 bytes
    ("0123456789abcdefghijklmnopqrstuvwxyzABCDEF", True),
])
def test_psk_rules(psk, ok):
    assert (pol.psk_weaknesses(psk) == []) is ok


def test_generated_psk_is_strong():
    from vpn.keys import generate_psk
    assert pol.psk_weaknesses(generate_psk().reveal()) == []


def test_platform_equivalents():
    p = pol.get_policy()
    xe = pol.for_platform(p, "cisco_xe")
    assert xe["ike"] == {"encryption": ["aes-gcm-256"], "integrity": [], "prf": ["sha384"],
                         "dh": ["20"], "lifetime": 15840}
    assert xe["esp"]["encryption"] == ["esp-gcm 256"] and xe["esp"]["pfs"] == ["20"]
    srx = pol.for_platform(pol.get_policy("modp-cbc"), "juniper_srx")
    assert srx["ike"]["dh"] == ["group15"] and srx["esp"]["integrity"] == ["hmac-sha-384"]
    assert srx["ike"]["integrity"] == ["sha-384"]
    with pytest.raises(PolicyError, match="no crypto keywords"):
        pol.for_platform(p, "frr")
    odd = pol.validate("odd", {**BASE, "ike": "chacha20poly1305-prfsha256-x25519"})
    with pytest.raises(PolicyError, match="no equivalent of chacha20poly1305"):
        pol.for_platform(odd, "juniper_srx")


def test_junos_aead_prf_is_implicit():
    srx = pol.for_platform(pol.get_policy(), "juniper_srx")
    assert srx["ike"]["encryption"] == ["aes-256-gcm"] and srx["ike"]["prf"] == []
    other = pol.validate("x", {**BASE, "ike": "aes256gcm16-prfsha256-ecp384"})
    with pytest.raises(PolicyError, match="derives prfsha384 from aes256gcm16"):
        pol.for_platform(other, "juniper_srx")
    with pytest.raises(PolicyError, match="a PRF gin does not know"):
        pol.for_platform(pol.get_policy("suite-b-128"), "juniper_srx")


def test_site_policy_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GIN_VPN_POLICY_FILE", str(tmp_path / "missing.yaml"))
    with pytest.raises(PolicyError, match="No such file"):
        pol.get_policy()
    path = tmp_path / "p.yaml"
    path.write_text("policies:\n  default:\n" + "".join(
        f"    {k}: {v}\n" for k, v in {**BASE, "ike": "aes128gcm16-prfsha256-ecp256"}.items()))
    monkeypatch.setenv("GIN_VPN_POLICY_FILE", str(path))
    assert pol.get_policy().ike.text == "aes128gcm16-prfsha256-ecp256"  # the site's wins
    assert "modp-cbc" in pol.policy_names()
