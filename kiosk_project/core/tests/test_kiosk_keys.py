"""Kiosk keys under attack and under change: failures limited per address, bounded caches that remember
misses, and a rotated or deactivated key refused at once by every process (two independent caches)."""

from __future__ import annotations

import secrets
import socket

import pytest
from django.test import Client

from kiosk_project.core.kiosk_auth import KeyCache, kiosk_for_key

pytestmark = pytest.mark.django_db

STATUS = "/api/v1/orders/00000000-0000-0000-0000-000000000000/status"  # any kiosk endpoint


def random_key() -> str:
    return f"kk_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def two_processes() -> tuple[KeyCache, KeyCache]:
    # An hour's TTL: whatever stops a key here, it is not waiting out a TTL.
    return KeyCache(ttl=3600), KeyCache(ttl=3600)


def test_a_rotated_key_stops_working_at_once_in_every_process(kiosk, django_capture_on_commit_callbacks):
    device, old_key = kiosk
    first, second = two_processes()
    assert kiosk_for_key(old_key, key_cache=first) and kiosk_for_key(old_key, key_cache=second)

    with django_capture_on_commit_callbacks(execute=True):  # what the admin's "Issue a new key" does
        new_key = device.issue_key()
        device.save(update_fields=["key_prefix", "key_hash"])

    assert kiosk_for_key(old_key, key_cache=first) is None
    assert kiosk_for_key(old_key, key_cache=second) is None
    assert kiosk_for_key(new_key, key_cache=first).id == device.id
    assert kiosk_for_key(new_key, key_cache=second).id == device.id


def test_deactivation_and_reactivation_apply_at_once_in_every_process(kiosk, django_capture_on_commit_callbacks):
    device, key = kiosk
    first, second = two_processes()
    assert kiosk_for_key(key, key_cache=first) and kiosk_for_key(key, key_cache=second)

    with django_capture_on_commit_callbacks(execute=True):
        device.is_active = False
        device.save()
    assert kiosk_for_key(key, key_cache=first) is None and kiosk_for_key(key, key_cache=second) is None

    with django_capture_on_commit_callbacks(execute=True):  # the refusal was cached as a miss; that goes too
        device.is_active = True
        device.save()
    assert kiosk_for_key(key, key_cache=first) and kiosk_for_key(key, key_cache=second)


def test_a_deleted_device_stops_working_at_once(kiosk, django_capture_on_commit_callbacks):
    device, key = kiosk
    first, _ = two_processes()
    assert kiosk_for_key(key, key_cache=first)
    with django_capture_on_commit_callbacks(execute=True):
        device.delete()
    assert kiosk_for_key(key, key_cache=first) is None


def test_a_change_that_has_not_committed_changes_nothing_yet(kiosk):
    device, key = kiosk
    first, _ = two_processes()
    assert kiosk_for_key(key, key_cache=first)
    device.is_active = False
    device.save()  # inside the test's open transaction: no commit, so no invalidation yet
    assert kiosk_for_key(key, key_cache=first)


def test_cached_keys_and_cached_misses_cost_no_query(kiosk, django_assert_num_queries):
    _, key = kiosk
    memory = KeyCache()
    kiosk_for_key(key, key_cache=memory)
    stranger = random_key()
    with django_assert_num_queries(1):
        for _ in range(10):
            assert kiosk_for_key(stranger, key_cache=memory) is None
    with django_assert_num_queries(0):
        for _ in range(10):
            assert kiosk_for_key(key, key_cache=memory) is not None


def test_many_random_keys_keep_memory_bounded_and_the_real_kiosk_cached(kiosk, django_assert_num_queries):
    device, key = kiosk
    memory = KeyCache(size=8, miss_size=64)
    assert kiosk_for_key(key, key_cache=memory)
    for _ in range(1500):
        assert kiosk_for_key(random_key(), key_cache=memory) is None
    assert len(memory.misses) == 64 and len(memory.hits) == 1
    assert memory.knows_kiosk(device.key_prefix)  # misses never evict a real kiosk
    with django_assert_num_queries(0):
        assert kiosk_for_key(key, key_cache=memory)


@pytest.mark.parametrize("raw", ["kk_ABCDEF01_" + "a" * 43, "kk_zz_" + "a" * 43, "kk_0011aabb_short",
                                 "kk_0011aabb_" + "a" * 43 + "!", "Kiosk kk_0011aabb_" + "a" * 43])
def test_malformed_keys_never_reach_the_database(raw, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert kiosk_for_key(raw, key_cache=KeyCache()) is None


def test_without_the_shared_cache_the_database_decides(kiosk, settings, django_capture_on_commit_callbacks,
                                                       django_assert_num_queries):
    device, key = kiosk
    memory = KeyCache(ttl=3600)
    assert kiosk_for_key(key, key_cache=memory)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{dead}/0"}}
    with django_assert_num_queries(1):  # no trusting the memory when nobody can say whether keys changed
        assert kiosk_for_key(key, key_cache=memory)
    device.is_active = False
    device.save()
    assert kiosk_for_key(key, key_cache=memory) is None


# -- failed authentications are limited per client address -------------------------------------------


def test_failed_authentications_are_limited_per_address(kiosk, settings, django_assert_num_queries):
    settings.KIOSK_AUTH_FAILURES_PER_MINUTE = 5
    _, key = kiosk
    attacker = Client(REMOTE_ADDR="198.51.100.7")
    neighbour = Client(REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION=f"Kiosk {key}")
    assert neighbour.get(STATUS).status_code == 404  # a real kiosk at the same address (NAT), known here

    answers = [attacker.get(STATUS, HTTP_AUTHORIZATION=f"Kiosk {random_key()}") for _ in range(6)]
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    blocked = answers[-1]
    assert blocked.json()["error"]["code"] == "RATE_LIMITED"
    assert set(blocked.json()["error"]) == {"code", "message", "details"}
    assert 1 <= int(blocked["Retry-After"]) <= 60
    with django_assert_num_queries(0):  # a blocked address costs no lookup
        assert attacker.get(STATUS, HTTP_AUTHORIZATION=f"Kiosk {random_key()}").status_code == 429
    assert attacker.get(STATUS, HTTP_AUTHORIZATION="Bearer nonsense").status_code == 429

    assert neighbour.get(STATUS).status_code == 404  # still served: its prefix is a known kiosk's
    other = Client(REMOTE_ADDR="203.0.113.20")
    assert other.get(STATUS, HTTP_AUTHORIZATION=f"Kiosk {random_key()}").status_code == 401


def test_a_forged_forwarded_for_does_not_dodge_the_limit(settings):
    settings.KIOSK_AUTH_FAILURES_PER_MINUTE = 3
    client = Client(REMOTE_ADDR="198.51.100.8")
    codes = [client.get(STATUS, HTTP_AUTHORIZATION=f"Kiosk {random_key()}",
                        HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_behind_a_trusted_proxy_the_limit_is_per_real_client(settings):
    settings.KIOSK_AUTH_FAILURES_PER_MINUTE = 2
    settings.TRUSTED_PROXY_HOPS = 1
    proxy = Client(REMOTE_ADDR="10.0.0.1")

    def attempt(client_ip: str, forged: str = "") -> int:
        chain = f"{forged}, {client_ip}" if forged else client_ip  # our proxy appends the address it saw
        return proxy.get(STATUS, HTTP_AUTHORIZATION=f"Kiosk {random_key()}",
                         HTTP_X_FORWARDED_FOR=chain).status_code

    assert [attempt("198.51.100.9", forged=f"1.2.3.{n}") for n in range(3)] == [401, 401, 429]
    assert attempt("198.51.100.10") == 401
