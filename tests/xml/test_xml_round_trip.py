"""Property: any valid verb, built with the builder, parses back to the same model.

The strategies draw models that obey the cross-attribute rules, write them with
the builder (sometimes spelling out a default, sometimes leaving it out) and
expect the parser to return exactly the drawn models. Relative URLs are drawn
too; their expected value comes from `urljoin`, the standard library oracle.
"""

from __future__ import annotations

from urllib.parse import urljoin

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.dialects.plivo import Response, parse_document, parse_sound_document
from controller.dialects.plivo.schema import SPEAK_VOICES
from controller.model import (
    NO_SOUND,
    ConferenceJoin,
    Hangup,
    HangupReason,
    HttpMethod,
    Play,
    RecordFormat,
    Redirect,
    Sound,
    SoundKind,
    Speak,
    TranscriptionType,
    Wait,
    Webhook,
)

SOURCE_URL = "https://app.example.com/plivo/answer.xml?call=1"
DETERMINISTIC = settings(derandomize=True, deadline=None, database=None)

SEGMENT = st.from_regex(r"[A-Za-z0-9_.~\-]{1,12}", fullmatch=True)
QUERY = st.from_regex(r"[A-Za-z0-9]{1,5}=[A-Za-z0-9&=%]{0,10}", fullmatch=True)


@st.composite
def urls(draw) -> tuple[str, str]:
    """(as written in the document, as the parser must return it)."""
    path = "/".join(draw(st.lists(SEGMENT, min_size=0, max_size=3)))
    query = draw(st.one_of(st.none(), QUERY))
    tail = path + (f"?{query}" if query else "") + draw(st.sampled_from(["", "#frag"]))
    if draw(st.booleans()):
        scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
        host = draw(st.sampled_from(["cb.example.org", "10.0.0.7:8080", "[::1]:9000", "h"]))
        written = f"{scheme}://{host}/{tail}"
        return written, written
    prefix = draw(st.sampled_from(["/", "./", "../", ""]))
    written = prefix + tail
    if written in ("", "./", "../") or written.startswith("#"):
        written = "x" + written
    return written, urljoin(SOURCE_URL, written)


methods = st.sampled_from(list(HttpMethod))
xml_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=80,
).filter(lambda s: s == s.strip() and s != "")


def spelled(draw, value, default) -> bool:
    """Write the attribute? Always when not the default, sometimes when it is."""
    return value != default or draw(st.booleans())


@st.composite
def speaks(draw):
    language = draw(st.sampled_from(sorted(SPEAK_VOICES)))
    voice = draw(st.sampled_from(SPEAK_VOICES[language]))
    loop = draw(st.integers(0, 10_000))
    text = draw(xml_text)
    kw = {}
    if spelled(draw, voice, "WOMAN"):
        kw["voice"] = voice
    if spelled(draw, language, "en-US"):
        kw["language"] = language
    if spelled(draw, loop, 1):
        kw["loop"] = loop
    return Speak(text, voice, language, loop), lambda r: r.speak(text, **kw)


@st.composite
def plays(draw):
    written, url = draw(urls())
    loop = draw(st.integers(0, 10_000))
    kw = {"loop": loop} if spelled(draw, loop, 1) else {}
    return Play(url, loop), lambda r: r.play(written, **kw)


@st.composite
def waits(draw):
    silence = draw(st.booleans())
    length = draw(st.integers(1, 86_400))
    kw = {}
    if silence:
        length = max(length, 1)
        min_silence = draw(st.integers(1, length * 1000 - 1))
        beep = False
        kw["silence"] = True
        if spelled(draw, min_silence, 2000):
            kw["min_silence"] = min_silence
    else:
        min_silence = 2000
        beep = draw(st.booleans())
        if draw(st.booleans()):
            kw["silence"] = False
        if spelled(draw, beep, False):
            kw["beep"] = beep
    if spelled(draw, length, 1):
        kw["length"] = length
    return Wait(length, silence, min_silence, beep), lambda r: r.wait(**kw)


@st.composite
def hangups(draw):
    reason = draw(st.one_of(st.none(), st.sampled_from(list(HangupReason))))
    schedule = draw(st.one_of(st.just(0), st.integers(1, 86_400)))
    kw = {}
    if reason is not None:
        kw["reason"] = reason if draw(st.booleans()) else reason.value
    if schedule:
        kw["schedule"] = schedule
    return Hangup(reason, schedule), lambda r: r.hangup(**kw)


@st.composite
def redirects(draw):
    written, url = draw(urls())
    method = draw(methods)
    kw = {"method": method} if spelled(draw, method, HttpMethod.POST) else {}
    return Redirect(url, method), lambda r: r.redirect(written, **kw)


@st.composite
def sounds(draw) -> tuple[str, Sound]:
    kind = draw(st.sampled_from(list(SoundKind)))
    if kind is SoundKind.URL:
        written, url = draw(urls())
        return written, Sound(SoundKind.URL, url)
    if kind is SoundKind.NONE:
        return "", NO_SOUND
    return kind.value, Sound(kind)


@st.composite
def conferences(draw):
    kw: dict = {}
    join: dict = {"room": draw(st.from_regex(r"[A-Za-z0-9_.\-]{1,100}", fullmatch=True))}

    def flag(kwarg: str, field: str, default: bool) -> bool:
        value = draw(st.booleans())
        join[field] = value
        if spelled(draw, value, default):
            kw[kwarg] = value
        return value

    flag("muted", "muted", False)
    flag("start_conference_on_enter", "start_on_enter", True)
    flag("end_conference_on_exit", "end_on_exit", False)
    flag("stay_alone", "stay_alone", True)
    flag("relay_dtmf", "relay_dtmf", False)
    hangup_on_star = flag("hangup_on_star", "hangup_on_star", False)
    record = flag("record", "record", False)

    for kwarg, field in (("enter_sound", "enter_sound"), ("exit_sound", "exit_sound")):
        written, sound = draw(sounds())
        join[field] = sound
        if spelled(draw, sound, NO_SOUND):
            kw[kwarg] = written if draw(st.booleans()) else sound

    if draw(st.booleans()):
        written, url = draw(urls())
        kw["wait_sound"], join["wait_sound"] = written, Webhook(url, HttpMethod.POST)

    for kwarg, field, low, high, default in (
        ("max_members", "max_members", 1, 20, 20),
        ("time_limit", "time_limit", 0, 86_400, 0),
    ):
        join[field] = draw(st.integers(low, high))
        if spelled(draw, join[field], default):
            kw[kwarg] = join[field]

    if record:
        join["record_format"] = draw(st.sampled_from(list(RecordFormat)))
        if spelled(draw, join["record_format"], RecordFormat.MP3):
            kw["record_file_format"] = join["record_format"]

    if draw(st.booleans()):
        written, url = draw(urls())
        method = draw(methods)
        kw["action"], join["action"] = written, Webhook(url, method)
        if spelled(draw, method, HttpMethod.POST):
            kw["method"] = method.value
        flag("redirect", "redirect", True)

    if draw(st.booleans()):
        written, url = draw(urls())
        method = draw(methods)
        kw["callback_url"], join["callback"] = written, Webhook(url, method)
        if spelled(draw, method, HttpMethod.POST):
            kw["callback_method"] = method
        flag("floor_event", "floor_event", False)
        patterns = draw(
            st.lists(
                st.from_regex(r"[0-9*#]{1,20}", fullmatch=True), max_size=20, unique=True
            ).map(lambda ps: [p for p in ps if not (hangup_on_star and p == "*")])
        )
        if patterns:
            kw["digits_match"] = patterns if draw(st.booleans()) else ",".join(patterns)
            join["digits_match"] = tuple(patterns)

    if record and draw(st.booleans()):
        kind = draw(st.sampled_from(list(TranscriptionType)))
        written, url = draw(urls())
        method = draw(methods)
        kw["transcription_type"], join["transcription_type"] = kind, kind
        kw["transcription_url"], join["transcription"] = written, Webhook(url, method)
        if spelled(draw, method, HttpMethod.POST):
            kw["transcription_method"] = method

    room = join["room"]
    return ConferenceJoin(**join), lambda r: r.conference(room, **kw)


answer_verbs = st.one_of(speaks(), plays(), waits(), hangups(), redirects(), conferences())
sound_verbs = st.one_of(speaks(), plays(), waits())


@DETERMINISTIC
@given(st.lists(answer_verbs, max_size=6))
def test_answer_documents_round_trip(drawn):
    response = Response()
    for _, build in drawn:
        build(response)
    document = parse_document(response.to_xml(), SOURCE_URL)
    assert document.verbs == tuple(model for model, _ in drawn)


@DETERMINISTIC
@given(st.lists(conferences(), min_size=1, max_size=2))
def test_conferences_round_trip(drawn):
    response = Response()
    for _, build in drawn:
        build(response)
    assert parse_document(response.to_xml(), SOURCE_URL).verbs == tuple(m for m, _ in drawn)


@DETERMINISTIC
@given(st.lists(sound_verbs, max_size=4))
def test_sound_documents_round_trip(drawn):
    response = Response(sound=True)
    for _, build in drawn:
        build(response)
    document = parse_sound_document(response.to_xml(), SOURCE_URL)
    assert document.verbs == tuple(model for model, _ in drawn)
