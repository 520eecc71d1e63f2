"""Command lines sent to FreeSWITCH: every argument arrives as the one argument it was meant
to be (mod_conference splits like switch_separate_string, which the simulator copies)."""

from __future__ import annotations

import pytest

from controller.freeswitch import apps, channel, conference, names, scheduler
from controller.freeswitch.args import UnsafeArgument, quoted, tts_file, tts_text
from controller.sim.fsutil import separate_string


def argv_of(line: str) -> list[str]:
    command, _, rest = line.partition(" ")
    return [command, *separate_string(rest, " ", 25)]


def test_tts_text_is_one_inert_line():
    assert tts_text("Hello\n  'world'\t${api(system rm)}") == "Hello world $ api(system rm)"
    assert tts_text("a\\b\x00c\u2028d{e}") == "a b c d e"
    assert tts_text("'''") == ""


def test_play_survives_freeswitch_argument_splitting():
    sound = tts_file("flite", "slt", "good morning | all, it's ${x} time")
    line = conference.play("room1", sound, 7)
    assert line == "conference room1 play 'tts://flite|slt|good morning | all, it s $ x time' 7"
    assert argv_of(line) == ["conference", "room1", "play",
                             "tts://flite|slt|good morning | all, it s $ x time", "7"]
    assert conference.play("r", "/media/a b.wav") == "conference r play '/media/a b.wav'"


@pytest.mark.parametrize("bad", ["it's", "back\\slash", "two\nlines"])
def test_unquotable_arguments_are_refused(bad):
    with pytest.raises(UnsafeArgument):
        quoted(bad)


@pytest.mark.parametrize("room", ["a b", "r\nconference x kick all", "r'", ""])
def test_a_room_name_is_one_word(room):
    with pytest.raises(UnsafeArgument):
        conference.kick(room, "all")


@pytest.mark.parametrize("target", ["1 2", "all\n", "-1", 0, "everyone", True])
def test_member_targets_are_ids_or_selectors(target):
    with pytest.raises(UnsafeArgument):
        conference.member_command("r", "mute", target)


def test_member_commands():
    assert conference.member_command("p_room", "mute", 5) == "conference p_room mute 5"
    assert conference.dtmf("r", "all", "12#") == "conference r dtmf all 12#"
    assert conference.norecord_all("r") == "conference r norecord all"
    assert conference.kick("r", "last") == "conference r kick last"
    with pytest.raises(ValueError):
        conference.member_command("r", "transfer", 5)


def test_hold_with_and_without_a_sound():
    # capture 07a: `hold <id> [file]`, `unhold <id>`
    assert conference.hold("r", 1) == "conference r hold 1"
    assert conference.unhold("r", "all") == "conference r unhold all"
    line = conference.hold("r", 1, "tone_stream://%(1000,0,350)")
    assert argv_of(line) == ["conference", "r", "hold", "1", "tone_stream://%(1000,0,350)"]


def test_relate_takes_comma_lists():
    # capture 07b: `relate 3,4 5 nospeak` -> one line per pair
    line = conference.relate("r", [3, 4], [5], conference.Relation.NOSPEAK)
    assert line == "conference r relate 3,4 5 nospeak"
    assert conference.relate("r", [3], [5], conference.Relation.BOTH).endswith("5 nospeak,nohear")
    with pytest.raises(UnsafeArgument):
        conference.relate("r", [], [5], conference.Relation.CLEAR)
    with pytest.raises(UnsafeArgument):
        conference.relate("r", ["all"], [5], conference.Relation.CLEAR)


def test_setvar_keeps_the_rest_of_the_line_but_no_line_break():
    assert conference.setvar("r", "cc_x", "POST|1|a b") == "conference r setvar cc_x POST|1|a b"
    with pytest.raises(ValueError):
        conference.setvar("r", "cc_x", "a\napi shutdown")


def test_channel_and_scheduler_commands():
    uuid = "0c6f1a9e-6f0c-4c59-a7b4-d2b8f0a31d11"
    assert channel.uuid_kill(uuid) == f"uuid_kill {uuid}"
    assert channel.uuid_kill(uuid, "USER_BUSY") == f"uuid_kill {uuid} USER_BUSY"
    assert channel.uuid_transfer(uuid, "other-ext") == f"uuid_transfer {uuid} other-ext XML default"
    with pytest.raises(UnsafeArgument):
        channel.uuid_kill("x; api shutdown")
    assert scheduler.sched_api(30, "cc_tl_u1", conference.kick("r", "all")) == \
        "sched_api +30 cc_tl_u1 conference r kick all"
    with pytest.raises(ValueError):
        scheduler.sched_api(0, "g", "status")


def test_conference_app_argument():
    assert apps.conference_app_arg("r", "default") == "r@default"
    assert apps.conference_app_arg("r", "default", ("mute", "moderator")) == \
        "r@default+flags{mute|moderator}"
    assert apps.set_var("a", "b c") == apps.AppCall("set", "a=b c")
    with pytest.raises(ValueError):
        apps.set_var("a", "b\nc")


def _as_freeswitch_sets(calls: list[apps.AppCall]) -> list[tuple[str, str]]:
    """What base_set receives: `set` takes its argument whole, `multiset` splits it
    with switch_separate_string (mod_dptools.c multiset_function), as the simulator
    copies it."""
    items: list[str] = []
    for call in calls:
        if call.app == "set":
            items.append(call.arg)
        else:
            assert call.app == "multiset" and call.arg.startswith("^^")
            items += separate_string(call.arg[3:], call.arg[2], 256)
    return [(name, value) for name, _, value in (item.partition("=") for item in items)]


def test_set_vars_groups_plain_values_and_every_value_arrives_unchanged():
    pairs = [("hangup_after_conference", "false"), ("conference_controls", "none"),
             ("conference_max_members", "250"), ("conference_enter_sound", "/m/a b.wav"),
             ("quoted", "O'Brien"), ("escaped", '{"x":"\\u0024"}'), ("piped", "a|b"),
             ("spaced", " lead"), ("empty", ""), ("equals", "a=b=c"),
             ("cc_resume", '{"v":1,"room":"r","action":null}'), ("last", "1")]
    calls = apps.set_vars(pairs)
    assert _as_freeswitch_sets(calls) == pairs
    # plain values share an application; quotes, backslashes, the delimiter and edge
    # spaces would be changed by the split, so those keep a `set` each (in order)
    assert [c.app for c in calls] == ["multiset", "set", "set", "set", "set", "multiset"]


def test_set_vars_with_one_variable_is_a_plain_set():
    assert apps.set_vars([("a", "b")]) == [apps.AppCall("set", "a=b")]
    with pytest.raises(ValueError):
        apps.set_vars([("a", "ok"), ("b", "b\nc")])


@pytest.mark.parametrize("room", ["list", "LIST", "Count", "json_list", "xml_list", "help",
                                  "commands"])
def test_room_names_never_equal_a_global_conference_word(room):
    # capture 07g: with no room of that name, `conference list kick all` lists every room
    fs_room = names.fs_room_name(room)
    assert fs_room.lower() not in names.GLOBAL_WORDS
    assert names.app_room_name(fs_room) == room


@pytest.mark.parametrize("room,prefix", [("sales", ""), ("sales", "t1_"), ("list", "t1_"),
                                         ("list~", ""), ("a.b-c_d", "")])
def test_room_names_round_trip(room, prefix):
    if "~" in room:
        with pytest.raises(names.BadRoomName):
            names.fs_room_name(room, prefix)
        return
    fs_room = names.fs_room_name(room, prefix)
    assert names.app_room_name(fs_room, prefix) == room


def test_foreign_rooms_are_not_ours():
    assert names.app_room_name("other_sales", "t1_") is None
    assert names.app_room_name("sales~") is None  # we never escape a non-reserved word
    assert names.fs_room_name("co", "") == "co"
    # the prefix counts: "js" + "on_list" spells a global word
    assert names.fs_room_name("on_list", "js") == "json_list~"
