"""The simulator's pure pieces, each against the FreeSWITCH routine it mirrors."""

from __future__ import annotations

import io
import struct
import wave

import pytest

from controller.sim import cjson
from controller.sim.callspec import CallSpecError, parse_call_spec
from controller.sim.conference import audiofile
from controller.sim.config import SimConfig, SimConfigError
from controller.sim.digits import DigitMachine
from controller.sim.fsutil import (
    atoi,
    expand_variables,
    separate_string,
    switch_false,
    switch_true,
    url_decode,
    url_encode,
)
from controller.sim.media import MediaNotFound, open_media
from controller.sim.wire import CommandReader, ProtocolViolation


# ------------------------------------------------------------ switch_url_encode
@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("+OK\n", "%2BOK%0A"),  # the connect reply of capture 05a
        ("a b", "a%20b"),
        ("sofia/internal/alice@127.0.0.1:5102", "sofia/internal/alice%40127.0.0.1%3A5102"),
        ("%41x", "%41x"),  # an upper-case %XX is already encoded
        ("%4ax", "%254ax"),  # lower-case hex is not
        ("é", "%C3%A9"),
        ("a/b.c-d_e~,()'*!$", "a/b.c-d_e~,()'*!$"),
    ],
)
def test_url_encode_matches_switch_url_encode(raw, encoded):
    assert url_encode(raw) == encoded


def test_url_decode_keeps_plus_and_bad_escapes():
    assert url_decode("a+b%20c%2b") == "a+b c+"
    assert url_decode("%zz%4") == "%zz%4"


# ------------------------------------------------------------ separate_string & friends
def test_separate_string_blank_collapses_spaces_and_honours_quotes():
    assert separate_string("a b  c", " ", 10) == ["a", "b", "c"]
    assert separate_string("a 'b c' d", " ", 10) == ["a", "b c", "d"]
    assert separate_string("a b c d", " ", 2) == ["a", "b c d"]


def test_separate_string_other_delimiters_keep_empty_fields():
    assert separate_string("x,y,,z", ",", 10) == ["x", "y", "", "z"]
    assert separate_string("^^:a:b,c", ",", 10) == ["a", "b,c"]


def test_atoi_is_c_atoi():
    # why conference member selectors like "1,2" act on member 1 only
    assert [atoi("12abc"), atoi(" -3"), atoi("x"), atoi("1,2"), atoi(None)] == [12, -3, 0, 1, 0]


def test_switch_true_and_false():
    assert all(switch_true(v) for v in ("yes", "On", "true", "t", "2", "-1"))
    assert not any(switch_true(v) for v in ("0", "no", "x", None))
    assert all(switch_false(v) for v in ("no", "OFF", "false", "0"))
    assert not any(switch_false(v) for v in ("x", "1", None))


def test_expand_variables_prefers_channel_then_globals_else_empty():
    assert expand_variables("${a}-${b}-${c}", {"a": "1", "b": "x"}, {"b": "2", "c": "3"}) == "1-x-3"
    assert expand_variables("${nope}!", {}, {}) == "!"


# ------------------------------------------------------------ cJSON printers
def test_cjson_formatted_uses_tabs_like_cjson_print():
    value = cjson.JObject([("a", 1), ("b", [1, 2]), ("c", cjson.JObject([("d", "x\ty")]))])
    assert (
        cjson.dumps(value) == '{\n\t"a":\t1,\n\t"b":\t[1, 2],\n\t"c":\t{\n\t\t"d":\t"x\\ty"\n\t}\n}'
    )
    assert cjson.dumps(value, formatted=False) == '{"a":1,"b":[1,2],"c":{"d":"x\\ty"}}'


def test_cjson_keeps_duplicate_keys_and_escapes_controls():
    value = cjson.JObject([("k", "1"), ("k", "\x01\n")])
    assert cjson.dumps(value, False) == '{"k":"1","k":"\\u0001\\n"}'
    assert cjson.dumps(1.5) == "1.5" and cjson.dumps(None) == "null"
    with pytest.raises(TypeError, match="cannot print"):
        cjson.dumps(object())


# ------------------------------------------------------------ read_packet framing
def test_command_reader_splits_blocks_and_ignores_cr_and_blank_lines():
    reader = CommandReader()
    assert reader.feed(b"\n\r\nauth Clue") == []
    assert reader.has_partial
    commands = reader.feed(b"Con\r\n\r\napi status\nX-Extra: 1\n\n")
    assert [c.line for c in commands] == ["auth ClueCon", "api status"]
    assert commands[1].header("x-extra") == "1"
    assert not reader.has_partial


def test_command_reader_reads_exactly_content_length_body_bytes():
    reader = CommandReader()
    first = reader.feed(b"sendmsg\ncall-command: execute\nContent-Length: 11\n\nhello")
    assert first == []
    commands = reader.feed(b" worldapi echo hi\n\n")
    assert [(c.line, c.body) for c in commands] == [
        ("sendmsg", "hello world"),
        ("api echo hi", None),
    ]


def test_command_reader_rejects_an_out_of_range_content_length():
    with pytest.raises(ProtocolViolation, match="Content-Length"):
        CommandReader().feed(b"sendevent CUSTOM\nContent-Length: -5\n\n")


# ------------------------------------------------------------ dmachine
def test_digit_machine_exact_partial_timeout_and_nomatch():
    machine = DigitMachine(digit_timeout_ms=1500)
    machine.bind("menu", "1", "one")
    machine.bind("menu", "12", "twelve")
    first = machine.feed("1", 0)
    assert first.kind == "wait"  # "12" is still possible
    assert machine.check_timeout(1000).kind == "wait"
    timed = machine.check_timeout(1502)
    assert (timed.kind, timed.digits, timed.binding.action) == ("match", "1", "one")
    machine.feed("1", 2000)
    both = machine.feed("2", 2100)
    assert (both.kind, both.binding.action) == ("match", "twelve")  # nothing longer: at once
    assert machine.feed("5", 3000).kind == "nomatch"  # no binding starts with 5: given back


def test_digit_machine_realms():
    machine = DigitMachine()
    machine.bind("a", "7", "in-a")
    machine.bind("b", "7", "in-b")  # binding activates its realm
    assert machine.feed("7", 0).binding.action == "in-b"
    assert machine.set_realm("a")
    assert machine.feed("7", 10).binding.action == "in-a"
    assert not machine.set_realm("missing")
    machine.clear_realm("a")
    assert machine.realm is None
    # no realm: nothing matches, and at the longest bound length it is given back
    assert machine.feed("7", 20).kind == "nomatch"


# ------------------------------------------------------------ media timing
@pytest.mark.parametrize(
    ("media", "ms"),
    [
        ("tone_stream://%(800,0,700)", 800),
        ("tone_stream://%(2000,4000,440,480);loops=3", 18000),
        ("tone_stream://L=3;%(100,100,350)", 600),
        ("silence_stream://1500", 1500),
        ("{loops=2}silence_stream://100", 200),
        ("file_string://silence_stream://100!tone_stream://%(200,0,440)", 300),
    ],
)
def test_media_durations(media, ms):
    assert open_media(media).duration_ms == ms


def test_endless_media_and_missing_files():
    assert open_media("tone_stream://%(2000,4000,440,480);loops=-1").duration_ms == float("inf")
    assert open_media("silence_stream://-1").duration_ms == float("inf")
    with pytest.raises(MediaNotFound, match="no such file"):
        open_media("/nonexistent/x.wav")
    with pytest.raises(MediaNotFound, match="stream type"):
        open_media("http://example.invalid/x.wav")


def test_wav_duration_comes_from_the_header(tmp_path):
    path = tmp_path / "two_seconds.wav"
    path.write_bytes(audiofile.render_wav(2000, []))
    assert open_media(str(path)).duration_ms == pytest.approx(2000, abs=1)
    assert open_media("two_seconds.wav", str(tmp_path)).duration_ms == pytest.approx(2000, abs=1)


# ------------------------------------------------------------ recordings' bytes
def test_rendered_wav_is_8k_16bit_mono_with_speech_where_loud():
    data = audiofile.render_wav(1000, [(200.0, 400.0)])
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (8000, 2, 1)
        frames = wav.readframes(wav.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    assert len(samples) == 8000
    assert max(abs(s) for s in samples[1700:3100]) > 1000  # the talking span
    assert max(abs(s) for s in samples[4000:]) < 100  # comfort noise at most


def test_rendered_mp3_has_id3_and_consistent_mpeg_frames():
    data = audiofile.render_mp3(1000, "room", "sim")
    assert data[:3] == b"ID3"
    size = data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9]
    audio = data[10 + size :]
    header = audio[:4]
    assert header[0] == 0xFF and header[1] & 0xE0 == 0xE0  # frame sync
    assert header[1] >> 1 & 0x3 == 0x1  # layer III
    frame_len = len(audiofile.MP3_HEADER) + (audiofile.MP3_FRAME_BYTES - len(audiofile.MP3_HEADER))
    assert len(audio) % frame_len == 0
    assert all(audio[i : i + 4] == header for i in range(0, len(audio), frame_len))


# ------------------------------------------------------------ settings & call requests
def test_sim_config_names_every_bad_field():
    with pytest.raises(SimConfigError) as caught:
        SimConfig(esl_port=70000, time_scale=0, outbound_mode="sync", profiles={}).validate()
    text = str(caught.value)
    for name in ("esl_port", "time_scale", "outbound_mode", "'default' profile"):
        assert name in text


def test_call_spec_defaults_and_errors():
    spec = parse_call_spec({"number": "1000", "dtmf": "1#", "talk": 2, "hangup_after": 5})
    assert (spec.caller_id, spec.dtmf, spec.talk, spec.hangup_after) == ("1000", "1#", 2.0, 5.0)
    with pytest.raises(CallSpecError, match="field 'number'"):
        parse_call_spec({"number": "a b"})
    with pytest.raises(CallSpecError, match="field 'dtmf'"):
        parse_call_spec({"number": "1", "dtmf": "12x"})
    with pytest.raises(CallSpecError, match="unknown field"):
        parse_call_spec({"number": "1", "hangup": 3})
    with pytest.raises(CallSpecError, match="'talk'"):
        parse_call_spec({"number": "1", "talk": True})
    with pytest.raises(CallSpecError, match="JSON object"):
        parse_call_spec(["1000"])


# ------------------------------------------------------------ event serialisation
def _bus():
    from controller.sim.clock import SimClock
    from controller.sim.events import EventBus, Identity

    return EventBus(SimClock(), Identity("core-uuid", "host", "host", "127.0.0.1", "::1"))


def test_plain_serialisation_with_known_blocks_equals_the_plain_path():
    from controller.sim.events import Block

    bus = _bus()
    block = [("Conference-Name", "room 1"), ("Caller-Channel-Name", "sofia/internal/a@b:5")]
    fast = bus.create("CUSTOM", ("f.c", "fn", 1), subclass="conference::maintenance")
    fast.add_block(Block(block))
    fast.add("Action", "mute-member")
    slow = bus.create("CUSTOM", ("f.c", "fn", 1), subclass="conference::maintenance")
    slow.extend(block)
    slow.add("Action", "mute-member")
    slow.headers = [(k, v) for k, v in slow.headers]  # same headers, no block knowledge
    fast_text = fast.serialize("plain").decode()
    slow_text = slow.serialize("plain").decode()
    strip = [
        line for line in fast_text.split("\n") if not line.startswith(("Event-Seq", "Event-Date"))
    ]
    assert strip == [
        line for line in slow_text.split("\n") if not line.startswith(("Event-Seq", "Event-Date"))
    ]
    assert fast_text.startswith("Event-Subclass: conference%3A%3Amaintenance\nEvent-Name: CUSTOM\n")
    assert "Conference-Name: room%201\nCaller-Channel-Name: sofia/internal/a%40b%3A5\n" in fast_text
    assert fast_text.endswith("Action: mute-member\n\n")


def test_event_drops_empty_values_and_reads_headers_case_insensitively():
    event = _bus().create("API", ("f.c", "fn", 1))
    event.add("Empty", "")
    event.add("None", None)
    event.add("Number", 5)
    event.extend([("A", "1"), ("B", ""), ("C", None)])
    names = [k for k, _ in event.headers]
    assert "Empty" not in names and "None" not in names and "B" not in names and "C" not in names
    assert event.get("number") == "5" and event.get("a") == "1"
