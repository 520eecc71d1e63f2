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
