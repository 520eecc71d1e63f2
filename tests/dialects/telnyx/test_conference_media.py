"""Conference speak and play with the official SDK: conference.speak/playback started and
ended for the whole room, conference.participant.* for named participants (from
mod_conference's play-file / play-file-member events, capture 02a)."""

from __future__ import annotations

from conftest import b64
from test_conferences import answered_call, room_name


def seeded_room(stack):
    alice, alice_id = answered_call(stack, "alice")
    bob, bob_id = answered_call(stack, "bob")
    conf = stack.client.conferences.create(call_control_id=alice_id, name=room_name(),
                                           client_state=b64("media")).data
    stack.client.conferences.actions.join(conf.id, call_control_id=bob_id)
    stack.telnyx.wait_for("conference.participant.joined", count=2, conference_id=conf.id)
    return conf, (alice, alice_id), (bob, bob_id)


def test_speak_to_the_room_and_to_one_participant(telnyx_stack):
    stack = telnyx_stack
    conf, (alice, alice_id), (bob, bob_id) = seeded_room(stack)
    stack.client.conferences.actions.speak(conf.id, payload="Welcome everyone", voice="female")
    stack.telnyx.wait_for("conference.speak.started", conference_id=conf.id)
    stack.telnyx.wait_for("conference.speak.ended", conference_id=conf.id)
    if not stack.real:  # what a phone heard: the simulator's view only
        assert any("Welcome everyone" in h for h in alice.heard)

    stack.client.conferences.actions.speak(conf.id, payload="Only for Bob", voice="male",
                                           call_control_ids=[bob_id])
    started = stack.telnyx.wait_for("conference.participant.speak.started",
                                    conference_id=conf.id)[0].payload
    ended = stack.telnyx.wait_for("conference.participant.speak.ended",
                                  conference_id=conf.id)[0].payload
    assert started.call_control_id == ended.call_control_id == bob_id
    assert started.client_state == b64("media")
    assert not stack.telnyx.of("conference.participant.speak.started",
                               call_control_id=alice_id)
    if not stack.real:
        assert any("Only for Bob" in h for h in bob.heard)
        assert not any("Only for Bob" in h for h in alice.heard)
    types = [getattr(e, "data", e).event_type for e in stack.telnyx.events]
    kinds = [t for t in types
             if t.startswith(("conference.speak", "conference.participant.sp"))]
    assert kinds == ["conference.speak.started", "conference.speak.ended",
                     "conference.participant.speak.started",
                     "conference.participant.speak.ended"]
    assert not stack.telnyx.refused


def test_play_to_the_room_and_to_one_participant(telnyx_stack):
    stack = telnyx_stack
    conf, _, (bob, bob_id) = seeded_room(stack)
    url = f"{stack.app_url}/sounds/tone.wav"
    stack.client.conferences.actions.play(conf.id, audio_url=url)
    started = stack.telnyx.wait_for("conference.playback.started", conference_id=conf.id)[0]
    stack.telnyx.wait_for("conference.playback.ended", conference_id=conf.id)
    assert started.payload.media_url == url
    stack.client.conferences.actions.play(conf.id, audio_url=url, call_control_ids=[bob_id])
    ended = stack.telnyx.wait_for("conference.participant.playback.ended",
                                  conference_id=conf.id)[0].payload
    assert (ended.call_control_id, ended.media_url) == (bob_id, url)
    assert stack.telnyx.of("conference.participant.playback.started", call_control_id=bob_id)
