"""Command lines sent to FreeSWITCH: quoting and text cleaning keep user text inert."""

from __future__ import annotations

import pytest

from controller.api import commands
from controller.sim.fsutil import separate_string


def test_tts_text_is_one_inert_line():
    assert commands.tts_text("Hello\n  'world'\t${api(system rm)}") == \
        "Hello world $ api(system rm)"
    assert commands.tts_text("a\\b\x00c\u2028d{e}") == "a b c d e"
    assert commands.tts_text("'''") == ""


def test_play_command_survives_freeswitch_argument_splitting():
    sound = commands.tts_file("flite", "slt", "good morning | all, it's ${x} time")
    line = commands.play_command("room1", sound, 7)
    assert line == "conference room1 play 'tts://flite|slt|good morning | all, it s $ x " \
                   "time' 7"
    # mod_conference splits its arguments the way switch_separate_string does.
    argv = separate_string(line[len("conference "):], " ", 25)
    assert argv == ["room1", "play", "tts://flite|slt|good morning | all, it s $ x time",
                    "7"]
    assert commands.play_command("r", "/media/a b.wav") == "conference r play '/media/a b.wav'"


@pytest.mark.parametrize("bad", ["it's", "back\\slash", "two\nlines"])
def test_unquotable_arguments_are_refused(bad):
    with pytest.raises(commands.UnsafeArgument):
        commands.quoted(bad)


def test_member_and_room_commands():
    assert commands.member_command("p_room", "mute", "5") == "conference p_room mute 5"
    assert commands.member_command("r", "dtmf", "all", "12#") == "conference r dtmf all 12#"
    assert commands.room_command("r", "norecord", "all") == "conference r norecord all"
