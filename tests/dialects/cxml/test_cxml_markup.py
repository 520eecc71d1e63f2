"""cXML documents built with the twilio SDK parse into the neutral model; what this
controller cannot honour fails with the reason, line and column; signatures validate."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from controller.dialects.cxml import markup, sids, signature
from controller.model import ConferenceJoin, EventKind, HangupReason
from controller.model import Gather as GatherVerb
from controller.xml.errors import XmlError

URL = "http://app.example.com/voice/answer"


def parse(response: VoiceResponse):
    return markup.parse_document(str(response).encode(), URL).verbs


def test_dial_conference_attributes_map_to_the_join():
    response = VoiceResponse()
    dial = Dial(action="/after", hangup_on_star=True, time_limit=60)
    dial.conference("room1", beep="onExit", muted=True, max_participants=5,
                    start_conference_on_enter=False, wait_url="", coach="CA" + "ab" * 16,
                    record="record-from-start", recording_status_callback_event="in-progress",
                    status_callback="/s", status_callback_event="join speaker",
                    participant_label="agent")
    response.append(dial)
    (join,) = parse(response)
    assert isinstance(join, ConferenceJoin)
    assert join.action.url == "http://app.example.com/after" and join.hangup_on_star
    assert join.member_time_limit == 60 and join.muted and join.max_members == 5
    assert join.enter_sound.is_none and not join.exit_sound.is_none
    assert not join.start_on_enter and not join.wait_music and join.wait_sound is None
    assert join.coach == (sids.uuid_of("CA" + "ab" * 16, "CA"),)
    assert join.record and join.record_min_members == 2
    assert join.recording_events == {EventKind.RECORDING_STARTED}
    assert join.room_hooks.events == {EventKind.MEMBER_JOINED, EventKind.SPEAKING_STARTED,
                                      EventKind.SPEAKING_STOPPED}
    assert join.label == "agent"


def test_gather_and_reject():
    response = VoiceResponse()
    gather = Gather(num_digits=4, finish_on_key="*", timeout=3)
    gather.say("Enter your PIN")
    gather.pause(length=2)
    response.append(gather)
    response.reject(reason="busy")
    gathered, rejected = parse(response)
    assert isinstance(gathered, GatherVerb)
    assert gathered.action.url == URL  # no action: the document's own URL, as Twilio does
    assert (gathered.num_digits, gathered.finish_on_key, gathered.timeout) == (4, "*", 3.0)
    assert len(gathered.prompts) == 2
    assert rejected.reason is HangupReason.BUSY


def test_refused_attributes_name_the_reason_and_the_place():
    response = VoiceResponse()
    response.append(Gather(input="speech"))
    dial = Dial()
    dial.conference("room1", region="ie1", beep="loud")
    response.append(dial)
    with pytest.raises(XmlError) as error:
        parse(response)
    text = str(error.value)
    assert 'answer:1:49 <Gather input="speech">: speech recognition is not supported' in text
    assert '<Conference region="ie1">: this controller is the conference\'s only region' in text
    assert '<Conference beep="loud">: beep must be one of true, false, onEnter, onExit' in text


def test_dial_number_is_refused():
    response = VoiceResponse()
    response.dial("+15551234567")
    with pytest.raises(XmlError, match="this controller dials only <Conference>"):
        parse(response)


def test_wait_document_may_loop_on_itself_or_be_audio():
    wait = VoiceResponse()
    wait.play("/music.wav")
    wait.redirect("http://app.example.com/wait")
    document = markup.parse_sound_document(str(wait).encode(), "http://app.example.com/wait")
    assert [v.url for v in document.verbs] == ["http://app.example.com/music.wav"]
    audio = markup.parse_sound_document(b"RIFF....WAVEfmt ", "http://app.example.com/w.wav")
    assert [v.url for v in audio.verbs] == ["http://app.example.com/w.wav"]
    elsewhere = VoiceResponse()
    elsewhere.redirect("http://app.example.com/other")
    with pytest.raises(XmlError, match="one Redirect to its own URL"):
        markup.parse_sound_document(str(elsewhere).encode(), "http://app.example.com/wait")


@pytest.mark.parametrize("url, form", [
    ("https://app.example.com/status?x=1", {"CallSid": "CA1", "Muted": "true", "B": "a b"}),
    ("https://app.example.com/answer?From=%2B1555&To=1000", {}),
])
def test_signature_is_what_the_sdk_validates(url, form):
    headers = signature.sign("token", url, form)
    assert RequestValidator("token").validate(url, form, headers["X-Twilio-Signature"])
    assert not RequestValidator("other").validate(url, form, headers["X-Twilio-Signature"])


def test_sids_round_trip():
    uuid = "0b6f1c2e-3d4a-4b5c-8d7e-9f0a1b2c3d4e"
    sid = sids.call_sid(uuid)
    assert len(sid) == 34 and sid.startswith("CA") and sids.uuid_of(sid, "CA") == uuid
    assert sids.uuid_of(sid, "CF") is None and sids.uuid_of("CAxyz", "CA") is None


def test_the_example_app_documents_parse():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[3] / "examples" / "cxml_app.py"
    spec = importlib.util.spec_from_file_location("cxml_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    example.validator.validate = lambda *args: True  # the test client sends no signature
    client = example.app.test_client()
    host = markup.parse_document(client.post("/answer", data={"From": example.HOST}).data, URL)
    assert host.verbs[1].end_on_exit and host.verbs[1].label == "host"
    markup.parse_document(client.post("/after", data={}).data, URL)


def test_conference_trim_defaults_to_trim_silence_as_twilios():
    def join_of(**conference: str):
        response = VoiceResponse()
        dial = Dial()
        dial.conference("room1", record="record-from-start", **conference)
        response.append(dial)
        return parse(response)[0]

    assert join_of().trim_silence is True
    assert join_of(trim="trim-silence").trim_silence is True
    assert join_of(trim="do-not-trim").trim_silence is False
    with pytest.raises(XmlError, match="trim must be trim-silence or do-not-trim"):
        join_of(trim="yes")


def test_dial_action_names_the_callers_own_stay_in_the_room():
    from controller.conference.events import CallFacts, CallStatus, MemberFacts
    from controller.dialects.cxml import params

    call = CallFacts(uuid="0b1e2c3d-0000-4000-8000-00000000abcd", caller_number="alice",
                     caller_name="",
                     destination="1000", direction="inbound")
    member = MemberFacts("room1", "c0ffee00-0000-4000-8000-000000000001", "7", call.uuid,
                         joined_us=1_700_000_000_000_000)
    fields = params.dial_action_params(params.Account("AC" + "1" * 32), call,
                                       CallStatus.IN_PROGRESS, member, None,
                                       now_us=1_700_000_093_600_000)
    assert fields["DialCallSid"] == fields["CallSid"] == sids.call_sid(call.uuid)
    assert (fields["DialCallStatus"], fields["DialCallDuration"]) == ("completed", "93")
    unknown = MemberFacts("room1", member.conference_uuid, "7", call.uuid)  # recovered stay
    assert params.dial_action_params(params.Account("AC" + "1" * 32), call,
                                     CallStatus.IN_PROGRESS, unknown, None,
                                     now_us=1)["DialCallDuration"] == "0"


def test_dial_record_becomes_the_callers_stay_recording():
    def dial_of(**dial: str):
        response = VoiceResponse()
        verb = Dial(**dial)
        verb.conference("room1")
        response.append(verb)
        return parse(response)[0]

    assert dial_of().stay_recording is None
    assert dial_of(record="do-not-record").stay_recording is None
    mono = dial_of(record="record-from-answer", recording_status_callback="https://a.example/r")
    assert (mono.stay_recording.dual, mono.stay_recording.trim_silence) == (False, True)
    assert mono.stay_recording.callback.url == "https://a.example/r"
    assert mono.stay_recording.events == {EventKind.RECORDING_COMPLETED,
                                          EventKind.RECORDING_FAILED}
    dual = dial_of(record="record-from-ringing-dual", trim="do-not-trim",
                   recording_status_callback_event="in-progress")
    assert (dual.stay_recording.dual, dual.stay_recording.trim_silence) == (True, False)
    assert dual.stay_recording.callback is None
    assert dual.stay_recording.events == {EventKind.RECORDING_STARTED}
    assert dial_of(record="true").stay_recording.dual is False

    with pytest.raises(XmlError, match='recordingStatusCallback reports Dial.s recording'):
        dial_of(recording_status_callback="https://a.example/r")
    with pytest.raises(XmlError, match="record must be"):
        dial_of(record="record-from-start")
    with pytest.raises(XmlError, match="Dial record records both directions"):
        dial_of(record="true", recording_track="inbound")
