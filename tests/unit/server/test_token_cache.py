"""The service's memory of verified tokens: it never outlives the token's expiry, and a
revocation, a disabled user or a changed grant in this process empties it at once."""

from __future__ import annotations

import datetime as dt

import pytest

from directory import identity
from gin.server.auth import TOKENS_SEEN, TokenCache


@pytest.fixture
def alice(directory):
    with directory.transaction() as s:
        identity.add_user(s, "alice", None)
        identity.grant(s, "alice", "viewer")
        _, secret = identity.create_token(s, "alice", "t1")
        who = identity.authenticate_token(s, secret)
    TOKENS_SEEN.clear()
    yield secret, who
    TOKENS_SEEN.clear()


def test_a_verified_token_is_remembered_by_its_hash_only(alice):
    secret, who = alice
    TOKENS_SEEN.put(secret, who)
    assert TOKENS_SEEN.get(secret) == who
    assert TOKENS_SEEN.get(secret + "x") is None
    assert all(secret.encode() not in key for key in TOKENS_SEEN._entries)


@pytest.mark.parametrize("change", ["revoke", "disable", "grant", "ungrant"])
def test_changes_to_access_empty_the_cache(directory, alice, change):
    secret, who = alice
    TOKENS_SEEN.put(secret, who)
    with directory.transaction() as s:
        if change == "revoke":
            identity.revoke_token(s, "alice", "t1")
        elif change == "disable":
            identity.set_disabled(s, "alice", True)
        elif change == "grant":
            identity.grant(s, "alice", "soc")
        else:
            identity.revoke_grant(s, "alice", "viewer")
    assert TOKENS_SEEN.get(secret) is None
    with directory.transaction() as s:  # and the database now refuses or narrows it
        again = identity.authenticate_token(s, secret)
    assert again is None or again.grants != who.grants


def test_never_believed_past_the_tokens_expiry(alice):
    secret, who = alice
    assert who.expires_at is not None  # tokens carry their expiry to the cache
    cache = TokenCache(seconds=3600)
    expired = identity.Identity(who.user, who.token, who.read_only, who.grants,
                                dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    cache.put(secret, expired)
    assert cache.get(secret) is None
    cache.put(secret, who)
    assert cache.get(secret) == who


def test_bounded_in_size(alice):
    _, who = alice
    cache = TokenCache(size=3)
    for i in range(10):
        cache.put(f"token-{i}", who)
        assert len(cache._entries) <= 3
