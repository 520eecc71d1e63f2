"""cXML recordings: trim-silence (Conference, Twilio's default), the recording status
callbacks and the REST Recordings resources, with the official twilio SDK; plus the pure
silence scan that trims them."""

from __future__ import annotations

import array
import io
import math
import sys
import wave

import gevent
import pytest
import requests
from cxml_testapp import ACCOUNT_SID, AUTH_TOKEN, wait_until
from stack import real_freeswitch
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.twiml.voice_response import Dial, VoiceResponse

from controller.conference import silence

RATE = 8000


# ----------------------------------------------------------------- the pure scan
def pcm(*spans: tuple[str, int]) -> bytes:
    """16-bit mono PCM from ("quiet"|"tone", milliseconds) spans; quiet is mod_conference's
    silence (-1), tone a 440 Hz sine at about -20 dBFS."""
    samples = array.array("h")
    for kind, ms in spans:
        count = RATE * ms // 1000
        if kind == "quiet":
            samples.extend([-1] * count)
        else:
            samples.extend(int(3000 * math.sin(2 * math.pi * 440 * i / RATE))
                           for i in range(count))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def wav_bytes(frames: bytes, width: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(width)
        target.setframerate(RATE)
        target.writeframes(frames)
    return out.getvalue()


def rms(frames: bytes) -> float:
    samples = array.array("h")
    samples.frombytes(frames)
    if sys.byteorder == "big":
        samples.byteswap()
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def test_quiet_bounds_find_the_sound_between_silences():
    frames = pcm(("quiet", 500), ("tone", 300), ("quiet", 200), ("tone", 100), ("quiet", 400))
    first, end = silence.quiet_bounds(frames, 1, RATE)
    assert first == RATE * 500 // 1000  # the first loud 20 ms window
    assert end == RATE * 1100 // 1000  # the end of the last loud window; the gap stays
    assert silence.quiet_bounds(pcm(("quiet", 300)), 1, RATE) == (0, 0)


def test_trim_wav_rewrites_the_file(tmp_path):
    path = tmp_path / "r.wav"
    path.write_bytes(wav_bytes(pcm(("quiet", 600), ("tone", 400), ("quiet", 600))))
    assert silence.trim_wav(str(path)) == 400
    with wave.open(str(path), "rb") as trimmed:
        assert trimmed.getnframes() == RATE * 400 // 1000
        frames = trimmed.readframes(trimmed.getnframes())
    assert rms(frames[:320]) > silence.THRESHOLD_RMS and rms(frames[-320:]) > 100
    # Idempotent (every controller of a cluster trims the same file): same bytes again.
    assert silence.trim_wav(str(path)) == 400
    with wave.open(str(path), "rb") as again:
        assert again.readframes(again.getnframes()) == frames
    assert [p.name for p in tmp_path.iterdir()] == ["r.wav"]  # no temporary file left

    odd = tmp_path / "odd.wav"  # sound not on a window boundary: the windows still line up
    odd.write_bytes(wav_bytes(pcm(("quiet", 510), ("tone", 405), ("quiet", 300))))
    first = silence.trim_wav(str(odd))
    assert silence.trim_wav(str(odd)) == first
    odd.unlink()

    all_quiet = tmp_path / "q.wav"
    all_quiet.write_bytes(wav_bytes(pcm(("quiet", 300))))
    assert silence.trim_wav(str(all_quiet)) == 0

    eight_bit = tmp_path / "e.wav"
    eight_bit.write_bytes(wav_bytes(bytes(800), width=1))
    with pytest.raises(silence.NotTrimmable, match="8-bit samples"):
        silence.trim_wav(str(eight_bit))
    not_wav = tmp_path / "n.wav"
    not_wav.write_bytes(b"ID3 not a wav")
    with pytest.raises(silence.NotTrimmable, match="not a PCM WAV"):
        silence.trim_wav(str(not_wav))


# ----------------------------------------------------------------- end to end
def recorded_conference(room: str, trim: str | None) -> str:
    response = VoiceResponse()
    dial = Dial(action="/after")
    extra = {"trim": trim} if trim else {}
    dial.conference(room, record="record-from-start", recording_status_callback="/rec",
                    recording_status_callback_event="in-progress completed", **extra)
    response.append(dial)
    return str(response)


def media(url: str) -> bytes:
    reply = requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.content


def record_a_burst(stack, app, room: str, trim: str | None) -> dict:
    """Two callers in ``room``; while it records: silence, the guest talks, silence."""
    app.documents["/answer"] = recorded_conference(room, trim)
    host = stack.phones.call("1000", caller_id=f"{room}-host")
    host.wait_answered(timeout=10)
    guest = stack.phones.call("1000", caller_id=f"{room}-guest")
    guest.wait_answered(timeout=10)
    calls = {"CA" + host.uuid.replace("-", ""), "CA" + guest.uuid.replace("-", "")}
    started = wait_until(lambda: [r for r in app.at("/rec", RecordingStatus="in-progress")
                                  if r["CallSid"] in calls], what="recording in-progress")
    gevent.sleep(0.6)
    guest.start_talking()
    gevent.sleep(0.6)
    guest.stop_talking()
    gevent.sleep(0.6)
    guest.hangup()
    host.hangup()
    sid = started[0]["RecordingSid"]
    return app.wait_for("/rec", RecordingStatus="completed", RecordingSid=sid)[0]


def first_and_last_window(body: bytes) -> tuple[float, float, int]:
    with wave.open(io.BytesIO(body), "rb") as recording:
        frames = recording.readframes(recording.getnframes())
        count = recording.getnframes()
    window = 2 * RATE * silence.WINDOW_MS // 1000
    return rms(frames[:window]), rms(frames[-window:]), count


def test_conference_recordings_are_trimmed_by_default_and_kept_with_do_not_trim(
        cxml_stack, cxml_app, client, room_name):
    trimmed = record_a_burst(cxml_stack, cxml_app, room_name + "-t", None)
    kept = record_a_burst(cxml_stack, cxml_app, room_name + "-k", "do-not-trim")
    for done in (trimmed, kept):
        assert done["valid"] and done["RecordingSid"].startswith("RE")
        assert done["RecordingSource"] == "DialConference"
        assert done["RecordingChannels"] == "1"

    # The SDK's REST client: the recording's metadata, then its media.
    fetched = client.recordings(trimmed["RecordingSid"]).fetch()
    assert fetched.sid == trimmed["RecordingSid"] and fetched.status == "completed"
    head, tail, count = first_and_last_window(media(trimmed["RecordingUrl"] + ".wav"))
    assert head > silence.THRESHOLD_RMS and tail > silence.THRESHOLD_RMS, (head, tail)
    assert int(trimmed["RecordingDuration"]) == round(count / RATE)

    head, tail, kept_count = first_and_last_window(media(kept["RecordingUrl"] + ".wav"))
    assert head < silence.THRESHOLD_RMS and tail < silence.THRESHOLD_RMS, (head, tail)
    assert kept_count > count  # the silences around the burst are still there


def test_an_ended_conference_keeps_its_recordings_listed_across_a_restart(
        cxml_stack, cxml_app, client, room_name):
    done = record_a_burst(cxml_stack, cxml_app, room_name, "do-not-trim")
    conference_sid = done["ConferenceSid"]
    # The room is gone from FreeSWITCH...
    wait_until(lambda: room_name not in cxml_stack.api("conference list"), what="room gone")
    # ...and the controller restarts: what it knows must come from disk.
    cxml_stack.stop_controller_service()
    cxml_stack.start_controller_service()

    conference = client.conferences(conference_sid).fetch()
    assert (conference.sid, conference.status, conference.friendly_name) == \
        (conference_sid, "completed", room_name)
    listed = client.conferences(conference_sid).recordings.list()
    assert [r.sid for r in listed] == [done["RecordingSid"]]
    assert listed[0].status == "completed" and listed[0].conference_sid == conference_sid
    assert listed[0].duration == done["RecordingDuration"]
    assert media(done["RecordingUrl"] + ".wav")[:4] == b"RIFF"

    # Without its recordings, an ended conference is unknown again (Twilio's 20404).
    recording_file = next(p for p in (cxml_stack.tmp_path / "recordings").glob("*.wav")
                          if p.stem.replace("-", "") == done["RecordingSid"][2:])
    recording_file.unlink()
    with pytest.raises(TwilioRestException) as missing:
        client.conferences(conference_sid).fetch()
    assert missing.value.status == 404 and missing.value.code == 20404
    with pytest.raises(TwilioException, match="20404"):  # the SDK's list raises the base class
        client.conferences("CF" + "0" * 32).recordings.list()


# ----------------------------------------------------------------- <Dial record>
def dial_recorded(room: str, **dial: str) -> str:
    response = VoiceResponse()
    recorded = Dial(action="/after", recording_status_callback="/dialrec",
                    recording_status_callback_event="in-progress completed", **dial)
    recorded.conference(room)
    response.append(recorded)
    return str(response)


def plain_conference(room: str) -> str:
    response = VoiceResponse()
    dial = Dial()
    dial.conference(room)
    response.append(dial)
    return str(response)


def test_dial_record_records_the_caller_while_in_the_conference(
        cxml_stack, cxml_app, client, room_name):
    documents = {
        "host": plain_conference(room_name),
        "dual": dial_recorded(room_name, record="record-from-answer-dual", trim="do-not-trim"),
        "trimmed": dial_recorded(room_name, record="record-from-ringing"),
    }
    cxml_app.documents["/answer"] = lambda p: documents[p["From"]]
    after = VoiceResponse()
    after.pause(length=30)  # the call stays up after leaving the room
    cxml_app.documents["/after"] = str(after)
    host = cxml_stack.phones.call("1000", caller_id="host")
    host.wait_answered(timeout=10)
    dual = cxml_stack.phones.call("1000", caller_id="dual")
    dual.wait_answered(timeout=10)
    dual_sid = "CA" + dual.uuid.replace("-", "")
    started = cxml_app.wait_for("/dialrec", RecordingStatus="in-progress", CallSid=dual_sid)[0]
    assert started["RecordingSource"] == "DialVerb" and started["RecordingChannels"] == "2"
    conference_sid = started["ConferenceSid"]

    # Live: the conference's Recordings do not list a call's recording until it is done.
    gevent.sleep(0.5)
    client.conferences(conference_sid).participants(dual_sid).delete()  # leaves the room
    done = cxml_app.wait_for("/dialrec", RecordingStatus="completed", CallSid=dual_sid)[0]
    assert dual.is_up  # the recording ended with the stay, not with the call
    assert cxml_app.wait_for("/after", CallSid=dual_sid)[0]["DialCallSid"] == dual_sid
    assert done["RecordingSid"] == started["RecordingSid"]
    assert (done["RecordingSource"], done["RecordingChannels"]) == ("DialVerb", "2")
    assert done["RecordingDuration"].isdigit()
    assert media(done["RecordingUrl"] + ".wav")[:4] == b"RIFF"

    listed = {r.sid: r for r in client.conferences(conference_sid).recordings.list()}
    assert listed[done["RecordingSid"]].call_sid == dual_sid
    assert listed[done["RecordingSid"]].source == "DialVerb"
    assert listed[done["RecordingSid"]].channels == 2
    assert client.recordings(done["RecordingSid"]).fetch().status == "completed"

    # trim-silence (Dial's default): the simulator's call recordings are silence only,
    # so nothing is left once trimmed; a real FreeSWITCH records the phone's audio.
    trimmed = cxml_stack.phones.call("1000", caller_id="trimmed")
    trimmed.wait_answered(timeout=10)
    trimmed_sid = "CA" + trimmed.uuid.replace("-", "")
    cxml_app.wait_for("/dialrec", RecordingStatus="in-progress", CallSid=trimmed_sid)
    gevent.sleep(0.5)
    trimmed.hangup()  # hanging up ends the stay and the recording
    cut = cxml_app.wait_for("/dialrec", RecordingStatus="completed", CallSid=trimmed_sid)[0]
    assert cut["RecordingChannels"] == "1"
    if not real_freeswitch():
        assert cut["RecordingDuration"] == "0"
        with wave.open(io.BytesIO(media(cut["RecordingUrl"] + ".wav")), "rb") as cut_file:
            assert cut_file.getnframes() == 0
    host.hangup()
    dual.hangup()
    assert all(r["valid"] for r in cxml_app.requests), [r for r in cxml_app.requests
                                                        if not r["valid"]]
