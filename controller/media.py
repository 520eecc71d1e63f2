"""Media verbs to FreeSWITCH applications and sound strings. Pure: no I/O.

``<Play>`` URLs are downloaded by the controller into a directory FreeSWITCH
can read (our FreeSWITCH has no HTTP file module); the caller of these
functions passes a resolver that turns a URL into that local path.
"""

from __future__ import annotations

from collections.abc import Callable

from controller.config import MediaSettings
from controller.freeswitch import apps
from controller.freeswitch.apps import AppCall
from controller.freeswitch.args import fs_text
from controller.model import Document, Play, Sound, SoundKind, Speak, Wait

# Two short 800 Hz beeps or one, as tone_stream (no sound files needed).
BEEP_ONE = "tone_stream://%(200,0,800)"
BEEP_TWO = "tone_stream://L=2;%(200,200,800)"
WAIT_BEEP = "tone_stream://%(250,0,1000)"


def tts_voice(speak: Speak, media: MediaSettings) -> str:
    return media.tts_voice_man if speak.voice.upper() == "MAN" else media.tts_voice_woman


def speak_call(speak: Speak, media: MediaSettings) -> AppCall:
    return apps.speak(media.tts_engine, tts_voice(speak, media), speak.text, _loops(speak.loop))


def play_call(path: str, loop: int) -> AppCall:
    return apps.playback(path, _loops(loop))


def wait_calls(wait: Wait) -> list[AppCall]:
    calls = [apps.playback(WAIT_BEEP)] if wait.beep else []
    if wait.silence:
        # wait_for_silence <threshold> <silence hits> <listen hits> <timeout ms>;
        # a hit is one 20 ms frame.
        hits = max(1, wait.min_silence // 20)
        calls.append(apps.wait_for_silence(200, hits, hits, wait.length * 1000))
    else:
        calls.append(apps.sleep(wait.length * 1000))
    return calls


def _loops(loop: int) -> int:
    return -1 if loop == 0 else loop


def beep_sound(sound: Sound) -> str:
    if sound.kind is SoundKind.BEEP_ONE:
        return BEEP_ONE
    if sound.kind is SoundKind.BEEP_TWO:
        return BEEP_TWO
    return ""


def document_sound(document: Document, resolve_play: Callable[[str], str],
                   media: MediaSettings) -> str:
    """A Play/Speak/Wait document as one FreeSWITCH sound string (``file_string://a!b``).

    Used for enter, exit and wait sounds, which mod_conference plays itself.
    Speak becomes mod_dptools' ``tts://engine|voice|text`` file format (it
    works inside file_string, where ``say:`` does not); Wait becomes silence. A loop
    of 0 plays once: mod_conference repeats the wait sound by itself.
    """
    entries: list[str] = []
    for verb in document.verbs:
        if isinstance(verb, Play):
            entries += [resolve_play(verb.url)] * max(1, verb.loop)
        elif isinstance(verb, Speak):
            # '!' separates file_string entries; it must not appear inside one.
            text = fs_text(verb.text.replace("!", "."))
            entries += [f"tts://{media.tts_engine}|{tts_voice(verb, media)}|{text}"] * max(
                1, verb.loop
            )
        elif isinstance(verb, Wait):
            entries.append(f"silence_stream://{verb.length * 1000}")
    if not entries:
        return ""
    if len(entries) == 1:
        return entries[0]
    return "file_string://" + "!".join(entries)
