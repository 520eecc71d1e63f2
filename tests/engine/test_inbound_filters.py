"""The shared inbound connection goes without the noisy conference events nobody on it
needs (controller.esl.filters): digits-match and start/stop-talking are dropped by the
simulator's mod_event_socket filters while no consumer wants them; a room whose hooks
ask for speaker events brings the talking events back until the room ends; the filters
are sent again after a reconnect; bgapi still works.

What the controller's inbound connection gets is read where it is sent: the
simulator's listener for that connection (``Tap``). An ``Observer`` (an unfiltered
inbound connection of the test's own) proves each dropped event was fired. The
member-level callbacks, which come from the member's own socket, still arrive.
"""

from __future__ import annotations

import gevent
import tiny_dialect  # noqa: F401 - importing it registers the tiny face
from stack import Stack, wait_until
from tinykit import FaceApp, Observer

from controller.esl.frames import parse_plain_event

NOISY = ("digits-match", "start-talking", "stop-talking")
SPEAKER_EVENTS = ["member.speaking.started", "member.speaking.stopped"]


class Tap:
    """The conference events the simulator sends to one inbound listener, in order, as
    (Action, Unique-ID), read from the bytes it writes to the socket."""

    def __init__(self, listener) -> None:
        self.listener = listener
        self.sent: list[tuple[str, str]] = []
        write = listener._send

        def recording_send(data: bytes) -> bool:
            self._read(data)
            return write(data)

        listener._send = recording_send

    def _read(self, data: bytes) -> None:
        while data:
            head, _, rest = data.partition(b"\n\n")
            fields = dict(line.split(b": ", 1) for line in head.split(b"\n") if b": " in line)
            length = int(fields.get(b"Content-Length", b"0"))
            body, data = rest[:length], rest[length:]
            if fields.get(b"Content-Type") == b"text/event-plain":
                event = parse_plain_event(body)
                if event.action:
                    self.sent.append((event.action, event.get("Unique-ID", "")))

    def actions(self) -> list[str]:
        return [action for action, _ in self.sent]

    def wait(self, action: str, uuid: str) -> None:
        """Until the listener sent ``action`` about ``uuid``: everything FreeSWITCH fired
        before it has been sent by then (a listener sends its queue in order)."""
        wait_until(lambda: (action, uuid) in self.sent,
                   what=f"{action} of {uuid} on the controller's connection: {self.sent}")


def inbound_listeners(stack) -> set:
    return {listener for listener in stack.sim._listeners if not listener.outbound}


def controller_tap(stack) -> Tap:
    """The simulator's listener of the controller's inbound connection, tapped: the only
    inbound one right after the stack started."""
    [listener] = inbound_listeners(stack)
    return Tap(listener)


def room_doc(name: str, **fields) -> dict:
    return {"do": [{"room": {"name": name, **fields}}, {"hangup": {}}]}


def tiny_events(stack, path: str) -> list[str]:
    return [r.json["event"] for r in stack.requests.at(path) if r.json is not None]


def wait_tiny(stack, path: str, event: str) -> None:
    wait_until(lambda: event in tiny_events(stack, path),
               what=f"{event} at {path}: got {tiny_events(stack, path)}")


def talk(phone) -> None:
    phone.start_talking()
    gevent.sleep(0.3)
    phone.stop_talking()


def call(stack, number: str, caller: str):
    phone = stack.phones.call(number, caller_id=caller)
    phone.wait_answered(timeout=10)
    return phone


def plivo_room(name: str, callback: str) -> str:
    return (f'<Response><Conference callbackUrl="{callback}" digitsMatch="9">{name}'
            "</Conference></Response>")


def test_digits_and_talking_stay_in_freeswitch_while_nobody_on_the_connection_wants_them(
        tmp_path):
    face = FaceApp()
    # alice (tiny face) creates the room: room hooks without speaker events, and her own
    # member-level speaking callbacks (they come on her socket); bob (Plivo) presses 9.
    face.tiny["3000"] = room_doc("quiet", hook="/rooms", events=["member.joined"],
                                 callback="/alice", callback_events=SPEAKER_EVENTS)
    face.plivo["1000"] = plivo_room("quiet", "/bob")
    settings = {"app": {"number_dialects": "3000=tiny"}}
    with Stack(tmp_path, app=face.app, settings=settings) as stack:
        tap = controller_tap(stack)
        with Observer(stack) as fs:
            alice = call(stack, "3000", "alice")
            bob = call(stack, "1000", "bob")
            stack.requests.wait_for("/bob", ConferenceAction="enter")
            talk(alice)
            wait_tiny(stack, "/alice", "member.speaking.stopped")
            bob.send_dtmf("9")
            stack.requests.wait_for("/bob", ConferenceAction="digits", ConferenceDigitsMatch="9")
            bob.hangup()
            tap.wait("del-member", bob.uuid)

            # FreeSWITCH fired them (the observer's unfiltered connection got them)...
            assert fs.find("start-talking", **{"Unique-ID": alice.uuid})
            assert fs.find("stop-talking", **{"Unique-ID": alice.uuid})
            assert fs.find("digits-match", **{"Unique-ID": bob.uuid})
            # ...the controller's connection did not get them, and got the rest.
            assert not [a for a in tap.actions() if a in NOISY], tap.sent
            assert ("add-member", bob.uuid) in tap.sent
            spoken = [e for e in tiny_events(stack, "/alice") if e in SPEAKER_EVENTS]
            assert spoken == SPEAKER_EVENTS  # her own callbacks, from her socket
            alice.hangup()


def test_speaker_room_hooks_bring_the_talking_events_back_until_the_room_ends(tmp_path):
    face = FaceApp()
    face.tiny["3000"] = room_doc("loud", hook="/loud", events=SPEAKER_EVENTS)
    face.tiny["3001"] = room_doc("calm", hook="/calm", events=["member.joined"])
    settings = {"app": {"dialect": "tiny"}}
    with Stack(tmp_path, app=face.app, settings=settings) as stack:
        tap = controller_tap(stack)
        with Observer(stack) as fs:
            alice = call(stack, "3000", "alice")
            talk(alice)
            wait_tiny(stack, "/loud", "member.speaking.stopped")
            assert tiny_events(stack, "/loud") == SPEAKER_EVENTS
            assert ("start-talking", alice.uuid) in tap.sent
            assert ("stop-talking", alice.uuid) in tap.sent
            alice.hangup()
            wait_until(lambda: fs.find("conference-destroy"), what="loud ended")

            # The room that wanted them is gone: they stay away again.
            bob = call(stack, "3001", "bob")
            wait_tiny(stack, "/calm", "member.joined")
            talk(bob)
            wait_until(lambda: fs.find("stop-talking", **{"Unique-ID": bob.uuid}),
                       what="bob's stop-talking fired")
            bob.hangup()
            tap.wait("del-member", bob.uuid)
            assert not [s for s in tap.sent if s[1] == bob.uuid and s[0] in NOISY], tap.sent
            assert not stack.requests.at("/calm", event="member.speaking.started")


def test_filters_come_back_after_a_reconnect_and_bgapi_still_works(tmp_path):
    face = FaceApp()
    face.tiny["3000"] = room_doc("loud", hook="/loud", events=SPEAKER_EVENTS)
    face.plivo["1000"] = plivo_room("plain", "/bob")
    settings = {"app": {"number_dialects": "3000=tiny"}}
    with Stack(tmp_path, app=face.app, settings=settings) as stack:
        alice = call(stack, "3000", "alice")  # a room whose hooks want speaker events
        bob = call(stack, "1000", "bob")  # a room where digits are pressed
        stack.requests.wait_for("/bob", ConferenceAction="enter")
        [old] = inbound_listeners(stack)  # the controller's, before the observer's
        with Observer(stack) as fs:
            [observer] = inbound_listeners(stack) - {old}
            resyncs = stack.controller.engine.rooms.resyncs
            old.close()  # the connection drops; the controller connects again
            wait_until(lambda: stack.controller.engine.rooms.resyncs > resyncs
                       and inbound_listeners(stack) - {old, observer},
                       what="the controller's new connection")
            [new] = inbound_listeners(stack) - {old, observer}
            tap = Tap(new)

            # bgapi's BACKGROUND_JOB still comes through the filters
            assert stack.controller.esl.bgapi("status").startswith("UP ")
            talk(alice)
            wait_tiny(stack, "/loud", "member.speaking.stopped")
            bob.send_dtmf("9")
            stack.requests.wait_for("/bob", ConferenceAction="digits")
            bob.hangup()
            tap.wait("del-member", bob.uuid)
            assert fs.find("digits-match", **{"Unique-ID": bob.uuid})
            assert ("start-talking", alice.uuid) in tap.sent
            assert "digits-match" not in tap.actions(), tap.sent
            alice.hangup()
