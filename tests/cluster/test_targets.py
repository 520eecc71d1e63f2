"""Which node a command goes to is read from the commands controller.freeswitch writes."""

from __future__ import annotations

from controller.freeswitch import channel, conference, core
from controller.freeswitch.targets import Target, target_of


def test_room_commands_name_their_room():
    assert target_of(conference.json_list("lobby")) == Target("room", "lobby")
    assert target_of(conference.json_list()) == Target("every_room")
    assert target_of("conference lobby kick 7") == Target("room", "lobby")


def test_channel_commands_name_their_channel():
    uuid = "0b0f7a52-8a3b-4f1f-9f57-5c1d2f3e4a5b"
    assert target_of(channel.uuid_exists(uuid)) == Target("channel", uuid)
    assert target_of(channel.uuid_kill(uuid, "NORMAL_CLEARING")) == Target("channel", uuid)


def test_anything_else_goes_to_any_node():
    assert target_of(core.core_uuid()) == Target("node")
    assert target_of("status") == Target("node")
    assert target_of("") == Target("node")
