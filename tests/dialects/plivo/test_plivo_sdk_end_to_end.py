"""Plivo applications written with the official SDK, run end to end on the simulator:
documents from ``plivoxml`` builders, a caller entering a PIN (GetDigits / GetInput),
and every request the controller sends (answer, redirect, action, callbacks, hangup;
GET and POST; with and without a query string) checked with the SDK's
``validate_v3_signature``."""

from __future__ import annotations

import secrets

import pytest
from plivo import plivoxml
from plivo_app import AUTH_TOKEN, PlivoApp
from stack import Stack, wait_until

PIN = "1234"


@pytest.fixture
def app() -> PlivoApp:
    return PlivoApp()


@pytest.fixture
def stack(tmp_path, app):
    settings = {"plivo": {"auth_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": AUTH_TOKEN},
                "webhooks": {"signing_secret": "our-own-secret"},
                "app": {"answer_url": "/answer?app=pin&lang=en", "answer_method": "GET",
                        "hangup_url": "/hangup"}}
    with Stack(tmp_path, app=app.flask, settings=settings) as running:
        yield running
        running.phones.close()


def heard_text(phone, text: str, count: int = 1, timeout: float = 30.0) -> None:
    wait_until(lambda: sum(text in media for media in phone.heard) >= count, timeout,
               f"{text!r} played {count} time(s) to the phone (heard: {phone.heard})")


def wait_requests(app: PlivoApp, path: str, count: int = 1, timeout: float = 30.0) -> list:
    return wait_until(lambda: len(app.at(path)) >= count and app.at(path), timeout,
                      f"{count} request(s) to {path} (seen: {[s.path for s in app.seen]})")


def pin_prompt(action: str, *, speak: str, retries: int = 2) -> plivoxml.GetDigitsElement:
    get_digits = plivoxml.GetDigitsElement(
        action=action, method="POST", timeout=5, digit_timeout=3, finish_on_key="#",
        num_digits=4, retries=retries, valid_digits="0123456789", redirect=True,
        play_beep=False, log=False,
    )
    get_digits.add_speak(speak, voice="WOMAN", language="en-US")
    get_digits.add_wait(length=1)
    return get_digits


def test_pin_flow_wrong_pin_retries_right_pin_joins_and_every_request_is_signed(
        stack, app):
    room = f"pin-{secrets.token_hex(4)}"
    base = stack.app_url
    app.documents["/answer"] = lambda p: (
        plivoxml.ResponseElement().add(plivoxml.RedirectElement("/start", method="GET")))
    app.documents["/start"] = lambda p: (
        plivoxml.ResponseElement()
        .add(pin_prompt(f"{base}/pin?step=1", speak="Enter your conference PIN"))
        .add(plivoxml.SpeakElement("We did not get your PIN. Goodbye.")))

    def pin(params):
        if params.get("Digits") != PIN:
            return (plivoxml.ResponseElement()
                    .add(pin_prompt(f"{base}/pin?step=2", speak="Wrong PIN, try again"))
                    .add(plivoxml.HangupElement()))
        conference = plivoxml.ConferenceElement(
            room, callback_url=f"{base}/events", callback_method="POST",
            action=f"{base}/after?from=conference&n=1", method="GET",
            start_conference_on_enter=True, end_conference_on_exit=False)
        return (plivoxml.ResponseElement()
                .add(plivoxml.SpeakElement("Welcome to the conference"))
                .add(conference))

    app.documents["/pin"] = pin

    phone = stack.phones.call("1000", caller_id="alice")
    heard_text(phone, "Enter your conference PIN")
    # numDigits="4": the fourth key ends the input (a "#" after it would already be the
    # next gather's first key, as on FreeSWITCH: switch_ivr_collect_digits_count returns
    # at max digits).
    phone.send_dtmf("9999")
    [wrong] = wait_requests(app, "/pin")
    assert wrong.params["Digits"] == "9999" and "InputType" not in wrong.params
    heard_text(phone, "Wrong PIN, try again")
    phone.send_dtmf(PIN + "#")
    right = wait_requests(app, "/pin", 2)[1]
    assert right.url.endswith("/pin?step=2") and right.params["Digits"] == PIN
    heard_text(phone, "Welcome to the conference")
    wait_requests(app, "/events")  # enter
    phone.hangup()
    wait_requests(app, "/after")
    wait_requests(app, "/hangup")
    wait_requests(app, "/events", 2)  # exit
    # Each prompt played once: no key of one gather spilled into the next.
    assert sum("Wrong PIN" in media for media in phone.heard) == 1, phone.heard

    by_path = {s.path: s for s in app.seen}
    assert by_path["/answer"].method == "GET" and "?app=pin&lang=en" in by_path["/answer"].url
    assert by_path["/start"].method == "GET"
    assert by_path["/pin"].method == "POST" and "?step=" in by_path["/pin"].url
    assert by_path["/events"].method == "POST" and "?" not in by_path["/events"].url
    assert by_path["/after"].method == "GET" and "from=conference" in by_path["/after"].url
    assert by_path["/hangup"].method == "POST" and "?" not in by_path["/hangup"].url
    for seen in app.seen:
        assert seen.signature and seen.nonce, f"{seen.method} {seen.url} is not signed"
        assert seen.valid, f"the SDK refused the signature of {seen.method} {seen.url}"
        assert not seen.valid_with_wrong_token, f"{seen.url} validated with a wrong token"
        assert not seen.valid_when_tampered, f"{seen.url} validated with changed parameters"


def test_get_input_dtmf_sends_input_type_and_digits(stack, app):
    base = stack.app_url
    get_input = plivoxml.GetInputElement(
        action=f"{base}/input", method="GET", input_type="dtmf", execution_timeout=10,
        digit_end_timeout=2, finish_on_key="*", num_digits=6, redirect=True, log=True,
        language="en-US", speech_end_timeout=3, profanity_filter=False)
    get_input.add_speak("Enter your account number, then press star")
    app.documents["/answer"] = lambda p: plivoxml.ResponseElement().add(get_input)
    app.documents["/input"] = lambda p: (
        plivoxml.ResponseElement().add(plivoxml.SpeakElement(f"You entered {p['Digits']}"))
        .add(plivoxml.HangupElement()))

    phone = stack.phones.call("1000", caller_id="bob")
    heard_text(phone, "Enter your account number")
    phone.send_dtmf("42*")
    [got] = wait_requests(app, "/input")
    assert got.method == "GET"
    assert got.params["InputType"] == "dtmf" and got.params["Digits"] == "42"
    heard_text(phone, "You entered 42")
    phone.wait_hangup()
    wait_requests(app, "/hangup")
    assert all(s.valid and not s.valid_with_wrong_token for s in app.seen)


def test_no_input_goes_on_with_the_next_verb_without_the_action(stack, app):
    get_digits = plivoxml.GetDigitsElement(action="/never", timeout=1, retries=2,
                                           num_digits=1)
    get_digits.add_speak("Press one")
    app.documents["/answer"] = lambda p: (
        plivoxml.ResponseElement().add(get_digits)
        .add(plivoxml.SpeakElement("Nothing pressed")).add(plivoxml.HangupElement()))

    phone = stack.phones.call("1000", caller_id="carol")
    heard_text(phone, "Press one", count=2)  # retries=2: the prompt plays twice
    heard_text(phone, "Nothing pressed")
    phone.wait_hangup()
    wait_requests(app, "/hangup")
    assert app.at("/never") == []


def test_redirect_false_requests_the_action_and_goes_on(stack, app):
    get_digits = plivoxml.GetDigitsElement(action="/told", method="POST", num_digits=2,
                                           redirect=False)
    get_digits.add_speak("Two digits please")
    app.documents["/answer"] = lambda p: (
        plivoxml.ResponseElement().add(get_digits)
        .add(plivoxml.SpeakElement("Carrying on")).add(plivoxml.HangupElement()))
    app.documents["/told"] = lambda p: (
        plivoxml.ResponseElement().add(plivoxml.SpeakElement("never played")))

    phone = stack.phones.call("1000", caller_id="dave")
    heard_text(phone, "Two digits please")
    phone.send_dtmf("77")
    [told] = wait_requests(app, "/told")
    assert told.params["Digits"] == "77" and told.valid
    heard_text(phone, "Carrying on")
    phone.wait_hangup()
    assert not any("never played" in media for media in phone.heard)


def test_invalid_digits_play_the_invalid_sound_then_the_retry_accepts(stack, app, tmp_path):
    # A WAV served by the application, as invalidDigitsSound must be a URL.
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 4000)
    wav = buffer.getvalue()

    class WavElement:
        def to_string(self) -> bytes:
            return wav

    app.documents["/invalid.wav"] = lambda p: WavElement()
    get_digits = plivoxml.GetDigitsElement(
        action="/menu", num_digits=1, valid_digits="12", retries=2,
        invalid_digits_sound="/invalid.wav", play_beep=True)
    get_digits.add_speak("Press one or two")
    app.documents["/answer"] = lambda p: plivoxml.ResponseElement().add(get_digits)
    app.documents["/menu"] = lambda p: (
        plivoxml.ResponseElement().add(plivoxml.SpeakElement(f"Option {p['Digits']}"))
        .add(plivoxml.HangupElement()))

    phone = stack.phones.call("1000", caller_id="erin")
    heard_text(phone, "Press one or two")
    phone.send_dtmf("5")
    heard_text(phone, "Press one or two", count=2)
    assert any(m.endswith(".wav") for m in phone.heard), phone.heard  # the invalid sound
    phone.send_dtmf("2")
    [menu] = wait_requests(app, "/menu")
    assert menu.params["Digits"] == "2"
    heard_text(phone, "Option 2")
    phone.wait_hangup()
    # The beep follows the prompt on each try.
    prompts = [m for m in phone.heard if "Press one or two" in m]
    assert all(m.endswith("tone_stream://%(250,0,1000)") for m in prompts), prompts


def test_a_live_redirect_reaches_a_call_waiting_for_digits(stack, app):
    get_digits = plivoxml.GetDigitsElement(action="/never", timeout=3, retries=1)
    get_digits.add_speak("Waiting for your digits")
    app.documents["/answer"] = lambda p: plivoxml.ResponseElement().add(get_digits)
    app.documents["/moved"] = lambda p: (
        plivoxml.ResponseElement().add(plivoxml.SpeakElement("Moved elsewhere"))
        .add(plivoxml.HangupElement()))

    phone = stack.phones.call("1000", caller_id="frank")
    heard_text(phone, "Waiting for your digits")
    from controller.calls import RedirectCall
    from controller.model import HttpMethod, Webhook

    call = wait_until(lambda: stack.controller.engine.calls.get(phone.uuid), 5, "the call")
    call.submit(RedirectCall(Webhook(f"{stack.app_url}/moved", HttpMethod.POST)))
    heard_text(phone, "Moved elsewhere")
    phone.wait_hangup()
    assert app.at("/never") == []
