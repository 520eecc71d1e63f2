"""The Idempotency-Key store: replay, conflict, expiry, what is not kept, concurrent waits."""

from __future__ import annotations

import gevent
import pytest

from controller.api.errors import ApiError
from controller.api.idempotency import IdempotencyStore, StoredResponse, fingerprint

ANSWER = StoredResponse(200, b'{"ok": true}', "application/json")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_fingerprint_compares_json_by_content():
    a = fingerprint("POST", "/v1/x", b'{"a": 1, "b": [1, 2]}')
    assert a == fingerprint("POST", "/v1/x", b'{"b":[1,2],"a":1}')
    assert a != fingerprint("POST", "/v1/y", b'{"a": 1, "b": [1, 2]}')
    assert a != fingerprint("POST", "/v1/x", b'{"a": 2, "b": [1, 2]}')
    assert fingerprint("POST", "/v1/x", b"not json") != fingerprint("POST", "/v1/x", b"")


def test_same_key_same_request_replays():
    store = IdempotencyStore(60)
    assert store.begin("k", "p1") is None
    store.finish("k", ANSWER)
    assert store.begin("k", "p1") == ANSWER
    assert store.begin("k", "p1") == ANSWER


def test_same_key_other_request_is_422():
    store = IdempotencyStore(60)
    store.begin("k", "p1")
    store.finish("k", ANSWER)
    with pytest.raises(ApiError) as caught:
        store.begin("k", "p2")
    assert (caught.value.status, caught.value.code) == (422, "idempotency_key_reused")
    assert "different request" in caught.value.message
    assert store.begin("k", "p1") == ANSWER  # the first answer is still there


def test_keys_expire_after_ttl():
    clock = Clock()
    store = IdempotencyStore(60, clock=clock)
    store.begin("k", "p1")
    store.finish("k", ANSWER)
    clock.now += 59
    assert store.begin("k", "p1") == ANSWER
    clock.now += 2
    assert store.begin("k", "p2") is None  # forgotten: a new request may use the key
    assert len(store) == 1


@pytest.mark.parametrize("status", [500, 503, 504])
def test_answers_that_may_not_have_run_are_not_kept(status):
    store = IdempotencyStore(60)
    store.begin("k", "p1")
    store.finish("k", StoredResponse(status, b"{}", "application/json"))
    assert store.begin("k", "p1") is None
    store.finish("k", None)  # an exception: nothing kept either
    assert len(store) == 0


def test_client_errors_are_kept():
    store = IdempotencyStore(60)
    store.begin("k", "p1")
    not_found = StoredResponse(404, b"{}", "application/json")
    store.finish("k", not_found)
    assert store.begin("k", "p1") == not_found


def test_oldest_keys_go_first_when_full():
    store = IdempotencyStore(60, max_entries=2)
    for key in ("a", "b", "c"):
        store.begin(key, "p")
        store.finish(key, ANSWER)
    assert len(store) == 2
    assert store.begin("a", "p") is None  # evicted, runs again
    assert store.begin("c", "p") == ANSWER


def test_a_second_request_waits_for_the_first():
    store = IdempotencyStore(60)
    assert store.begin("k", "p1") is None
    second = gevent.spawn(store.begin, "k", "p1")
    gevent.sleep(0.01)
    assert not second.ready()  # waiting, not running the command a second time
    store.finish("k", ANSWER)
    assert second.get(timeout=2) == ANSWER


def test_a_running_key_with_another_request_is_refused_at_once():
    store = IdempotencyStore(60)
    store.begin("k", "p1")
    with pytest.raises(ApiError) as caught:
        store.begin("k", "p2")
    assert caught.value.code == "idempotency_key_reused"


def test_a_waiter_gives_up_with_409():
    store = IdempotencyStore(60, wait_timeout=0.01)
    store.begin("k", "p1")
    with pytest.raises(ApiError) as caught:
        store.begin("k", "p1")
    assert (caught.value.status, caught.value.code) == (409, "idempotency_key_in_use")


def test_a_waiter_runs_when_the_first_kept_nothing():
    store = IdempotencyStore(60)
    store.begin("k", "p1")
    second = gevent.spawn(store.begin, "k", "p1")
    gevent.sleep(0.01)
    store.finish("k", StoredResponse(503, b"{}", "application/json"))
    assert second.get(timeout=2) is None  # it runs the command itself
