"""plan_join: one row per <Conference> attribute, checked against the mod_conference mapping."""

from __future__ import annotations

import dataclasses

import pytest

from controller.conference.plan import (
    BINDING_DIGITS,
    BINDING_HANGUP_ON_STAR,
    DIGIT_REALM,
    plan_join,
)
from controller.model import ConferenceJoin, RecordFormat

UUID = "0e7c1ca0-93fc-415b-ab1c-0c1b65fd671e"


def plan(**attributes):
    join = ConferenceJoin(room="sales", **{k: v for k, v in attributes.items()
                                          if k not in ("enter", "exit", "wait", "prefix")})
    return plan_join(
        join, call_uuid=UUID, profile="default", room_prefix=attributes.get("prefix", ""),
        enter_sound=attributes.get("enter", ""), exit_sound=attributes.get("exit", ""),
        wait_sound=attributes.get("wait", ""),
    )


def test_defaults_join_as_a_moderator_that_keeps_its_call():
    p = plan()
    assert p.app_arg == "sales@default+flags{moderator}"
    assert p.member_flags == ("moderator",)
    assert p.conference_flags == ()
    assert dict(p.variables) == {
        "hangup_after_conference": "false",
        "conference_controls": "none",
        "conference_max_members": "20",
    }
    assert p.digit_bindings == ()
    assert p.creator_commands == ()
    assert p.record is None and p.time_limit == 0


@pytest.mark.parametrize(
    ("attributes", "flags", "conference_flags"),
    [
        ({"muted": True}, ("mute", "moderator"), ()),
        ({"start_on_enter": False}, (), ("wait-mod",)),
        ({"end_on_exit": True}, ("moderator", "endconf"), ()),
        ({"stay_alone": False}, ("moderator", "mintwo"), ()),
        ({"relay_dtmf": True}, ("moderator", "dist-dtmf"), ()),
        ({"muted": True, "start_on_enter": False, "end_on_exit": True, "stay_alone": False,
          "relay_dtmf": True}, ("mute", "endconf", "mintwo", "dist-dtmf"), ("wait-mod",)),
    ],
)
def test_flag_attributes(attributes, flags, conference_flags):
    p = plan(**attributes)
    assert p.member_flags == flags
    assert p.conference_flags == conference_flags
    assert p.app_arg == "sales@default+flags{" + "|".join(flags + conference_flags) + "}"
    # mod_conference parses at most 10 flag tokens (conference_utils_set_mflags).
    assert len(flags + conference_flags) <= 10


@pytest.mark.parametrize(
    ("max_members", "variable", "command"),
    [(20, "20", ()), (2, "2", ()), (5, "5", ()),
     (1, None, ("conference sales set max_members 1",))],
)
def test_max_members(max_members, variable, command):
    p = plan(max_members=max_members)
    assert dict(p.variables).get("conference_max_members") == variable
    assert p.creator_commands == command


def test_sounds_become_channel_variables():
    p = plan(enter="tone_stream://%(200,0,800)", exit="file_string://a.wav!b.wav",
             wait="tone_stream://%(2000,4000,440,480);loops=-1")
    variables = dict(p.variables)
    assert variables["conference_enter_sound"] == "tone_stream://%(200,0,800)"
    assert variables["conference_exit_sound"] == "file_string://a.wav!b.wav"
    assert variables["conference_moh_sound"] == "tone_stream://%(2000,4000,440,480);loops=-1"
    assert "conference_enter_sound" not in dict(plan().variables)


def test_digits_match_binds_events_the_call_socket_receives():
    p = plan(digits_match=("1", "22", "1"))
    assert [b.pattern for b in p.digit_bindings] == ["1", "22"]
    binding = p.digit_bindings[1]
    assert binding.kind == BINDING_DIGITS
    # The exact form capture 04c proved on FreeSWITCH 1.11.1, with our Unique-ID.
    assert binding.arg == (
        f"{DIGIT_REALM},22,exec:event,'Event-Name=CUSTOM,Event-Subclass=conference::maintenance,"
        f"Action=digits-match,Unique-ID={UUID},Conference-Name=sales,Binding=digits,Digits=22'"
    )
    assert p.digit_realm == DIGIT_REALM


def test_hangup_on_star_takes_the_star_from_digits_match():
    p = plan(hangup_on_star=True, digits_match=("*", "9"))
    assert [(b.pattern, b.kind) for b in p.digit_bindings] == [
        ("*", BINDING_HANGUP_ON_STAR), ("9", BINDING_DIGITS)
    ]
    assert "Binding=hangup-on-star,Digits=*'" in p.digit_bindings[0].arg


def test_record_and_time_limit_are_room_work():
    p = plan(record=True, record_format=RecordFormat.WAV, time_limit=90)
    assert p.record is RecordFormat.WAV
    assert p.time_limit == 90
    assert plan(record=False, record_format=RecordFormat.WAV).record is None


def test_room_prefix_scopes_the_freeswitch_name_only():
    p = plan(prefix="tenant1-", digits_match=("5",))
    assert p.room == "sales"
    assert p.fs_room == "tenant1-sales"
    assert p.app_arg.startswith("tenant1-sales@default")
    assert "Conference-Name=tenant1-sales" in p.digit_bindings[0].arg


def test_every_conference_join_field_is_used_by_the_plan():
    """A new model field must get a mapping (or an explicit reason here)."""
    handled_elsewhere = {"room", "action", "redirect", "callback", "transcription_type",
                         "transcription", "floor_event", "enter_sound", "exit_sound",
                         "wait_sound",
                         # the room manager's (controller.conference.rooms)
                         "room_hooks", "recording_callback", "recording_events",
                         "record_min_members", "hold", "hold_sound", "coach",
                         "single_coach", "trim_silence",
                         # the stay's own call recording (controller.conference.stay_recording)
                         "stay_recording",
                         # the member's own webhooks (controller.conference.member)
                         "callback_events",
                         # the member's (controller.conference.member): a FreeSWITCH task
                         # ends its stay; no wait sound at all; the room manager keeps labels
                         "member_time_limit", "wait_music", "label"}
    fields = {f.name for f in dataclasses.fields(ConferenceJoin)}
    planned = {"muted", "start_on_enter", "end_on_exit", "stay_alone", "relay_dtmf",
               "max_members", "digits_match", "hangup_on_star", "record", "record_format",
               "time_limit"}
    assert fields - handled_elsewhere == planned
