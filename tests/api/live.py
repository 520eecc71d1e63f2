"""A live stack for the REST API tests: simulator, controller, the answer app, phones in a room."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import gevent
import requests
from api.support import conference_app
from stack import Stack


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll until ``predicate`` returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        gevent.sleep(0.02)


class LiveRoom:
    """``Stack`` plus helpers: the REST API with credentials, FreeSWITCH's own listing."""

    def __init__(self, stack: Stack, room: str, fs_room: str):
        self.stack = stack
        self.room = room  # the application's name, used in API paths
        self.fs_room = fs_room  # FreeSWITCH's name (with the tenant prefix)
        self.phones: list[Any] = []

    # ------------------------------------------------------------ REST API
    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.stack.auth_headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.stack.api_base + path, headers=headers,
                                timeout=10, **kwargs)

    def get(self, path: str) -> requests.Response:
        return self.request("GET", path)

    def post(self, path: str, body: dict | None = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def member_action(self, selector: Any, action: str, body: dict | None = None,
                      **kwargs: Any) -> requests.Response:
        return self.post(f"/v1/conferences/{self.room}/members/{selector}/{action}", body,
                         **kwargs)

    def room_action(self, action: str, body: dict | None = None, **kwargs: Any
                    ) -> requests.Response:
        return self.post(f"/v1/conferences/{self.room}/{action}", body, **kwargs)

    # ------------------------------------------------------------ FreeSWITCH's view
    def fs_listing(self) -> dict | None:
        """The room as (simulated) FreeSWITCH lists it, or None when it does not exist."""
        reply = self.stack.api(f"conference {self.fs_room} json_list compact")
        if not reply.startswith("["):
            return None
        [conference] = json.loads(reply)
        return conference

    def fs_members(self) -> dict[int, dict]:
        conference = self.fs_listing() or {}
        return {m["id"]: m for m in conference.get("members", []) if m.get("type") == "caller"}

    def member_id(self, phone: Any) -> int:
        for member_id, member in self.fs_members().items():
            if member["uuid"] == phone.uuid:
                return member_id
        raise AssertionError(f"phone {phone.uuid} is not in {self.room}")

    # ------------------------------------------------------------ callers
    def call(self, name: str) -> Any:
        before = len(self.fs_members())
        phone = self.stack.phones.call("1000", caller_id=name, caller_name=name)
        phone.wait_answered()
        wait_for(lambda: len(self.fs_members()) == before + 1, what=f"{name} in {self.room}")
        self.phones.append(phone)
        return phone


def live_room(tmp_path, callers: tuple[str, ...] = ("alice", "bob", "carol"),
              room: str = "room1", settings: dict | None = None) -> tuple[Stack, LiveRoom]:
    """Start a stack whose answer app sends every call into ``room``; place the calls."""
    stack = Stack(tmp_path, app=conference_app(room), settings=settings)
    stack.__enter__()
    prefix = (settings or {}).get("freeswitch", {}).get("room_prefix", "")
    live = LiveRoom(stack, room, prefix + room)
    try:
        for name in callers:
            live.call(name)
    except BaseException:
        stack.__exit__(None, None, None)
        raise
    return stack, live
