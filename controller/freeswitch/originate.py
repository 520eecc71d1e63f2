"""``originate``: dial a new leg and hand it to an application. Pure.

The command (mod_commands.c ``originate_function``)::

    originate <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>]
              [<cid_name>] [<cid_num>] [<timeout_sec>]

is split on spaces, honouring single quotes and backslash escapes
(``switch_separate_string(mycmd, ' ', ...)``; switch_utils.c
``separate_string_blank_delim``). So the application must be quoted: written
unquoted, ``&socket(127.0.0.1:8084 async full)`` reaches the socket app as
``127.0.0.1:8084`` only, and the leg connects ``Socket-Mode: static``,
``Control: single-channel`` (capture 07d, step A). Quoted, ``'&socket(... async
full)'`` gives ``Socket-Mode: async``, ``Control: full`` (07d, step B).

Channel variables go in front of the call URL in ``{name=value,...}``
(switch_ivr_originate.c: ``while (*data == '{') switch_event_create_brackets(data,
'{', '}', ',', ...)``). A value passes three splitters before it is set
(switch_utils.c ``separate_string_*`` / ``cleanup_separated_string``): the
command line on spaces, the braces on commas, each pair on ``=``. Hence:

- a space is written ``\\s`` (the first splitter skips an escaped character and
  its clean-up turns ``\\s`` into a space); leading/trailing spaces are trimmed
  by the later clean-ups, so values are stripped here;
- a comma is written ``\\,`` (left alone by the first clean-up, skipped by the
  comma splitter and unescaped by its clean-up);
- ``{`` and ``}`` cannot be escaped (``switch_find_end_paren`` counts them
  blindly), nor can quotes and backslashes be passed through all three
  clean-ups reliably: values holding them are refused;
- ``:_:`` anywhere makes it an "enterprise" originate and ``|`` separates
  sequential destinations (switch_ivr_originate.c): refused too, as are line
  breaks (an ESL command ends there) and ``${`` (variable expansion).

The reply (api/response, or the BACKGROUND_JOB body of ``bgapi``) is
``+OK <uuid>\\n`` once the leg answered (and its application started), or
``-ERR <CAUSE>\\n``: ``USER_BUSY``, ``NO_ANSWER`` (``originate_timeout``
passed), ``NORMAL_TEMPORARY_FAILURE`` (nothing reachable),
``DESTINATION_OUT_OF_ORDER`` (origination_uuid already in use) (capture 07d).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from controller.freeswitch.apps import AppCall
from controller.freeswitch.args import UnsafeArgument, uuid

# Variables every dial sets (switch_ivr_originate.c reads each of them by name).
ORIGINATION_UUID = "origination_uuid"
CALLER_ID_NUMBER = "origination_caller_id_number"
CALLER_ID_NAME = "origination_caller_id_name"
ORIGINATE_TIMEOUT = "originate_timeout"  # seconds of ringing before NO_ANSWER
IGNORE_EARLY_MEDIA = "ignore_early_media"  # 183 with SDP is not an answer (07d sets it too)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
_WORD = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")
_USER = re.compile(r"[A-Za-z0-9_.+\-]{1,64}(@[A-Za-z0-9.\-]{1,253})?\Z")
_NUMBER = re.compile(r"[A-Za-z0-9+*#_.\-]{1,64}\Z")
# user@host[:port][;params]: the unreserved and sub-delim characters of RFC 3261 that
# mean nothing to the dial-string parser (no , | { } [ ] < > quotes, spaces, parentheses).
_SIP_URI = re.compile(r"([A-Za-z0-9_.!~*+\-%&=;?/]{1,128}@)?[A-Za-z0-9.\-]{1,253}"
                      r"(:[0-9]{1,5})?(;[A-Za-z0-9_.!~*+\-%=]{1,128})*\Z")
_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}\Z|\[[0-9A-Fa-f:.]{2,45}\]\Z")
_REFUSED_IN_VALUE = ("{", "}", "'", '"', "\\", "|", ":_:", "${", "\n", "\r", "\x00")
MAX_VALUE = 4096


class OriginateError(UnsafeArgument):
    """A destination, variable or application that cannot be put in an originate."""


# ------------------------------------------------------------------ destinations
@dataclass(frozen=True)
class SipUser:
    """A user registered on FreeSWITCH (mod_dptools' ``user/<id>[@domain]`` endpoint,
    which dials the contact the user registered from)."""

    user: str

    def dial_string(self) -> str:
        if not _USER.match(self.user):
            raise OriginateError(f"{self.user[:80]!r} is not a SIP user id "
                                 "(letters, digits, _ . + -, optionally @domain)")
        return f"user/{self.user}"


@dataclass(frozen=True)
class SipUri:
    """Any SIP address, dialled through a sofia profile: ``sofia/<profile>/<user@host>``
    (07d dials ``sofia/internal/uas@127.0.0.1:5090``)."""

    uri: str  # with or without the sip: scheme
    profile: str = "internal"

    def dial_string(self) -> str:
        address = self.uri[4:] if self.uri.lower().startswith("sip:") else self.uri
        if not _SIP_URI.match(address):
            raise OriginateError(f"{self.uri[:80]!r} is not a SIP URI we can dial "
                                 "(sip:user@host[:port])")
        return f"sofia/{_word(self.profile, 'sofia profile')}/{address}"


@dataclass(frozen=True)
class GatewayNumber:
    """A number dialled through a configured SIP trunk: ``sofia/gateway/<name>/<number>``."""

    gateway: str
    number: str

    def dial_string(self) -> str:
        if not _NUMBER.match(self.number):
            raise OriginateError(f"{self.number[:80]!r} is not a number to dial "
                                 "(1-64 of 0-9 + * # letters _ . -)")
        return f"sofia/gateway/{_word(self.gateway, 'gateway name')}/{self.number}"


Destination = SipUser | SipUri | GatewayNumber


def _word(value: str, what: str) -> str:
    if not _WORD.match(value):
        raise OriginateError(f"{what} {value[:80]!r} is not 1-64 of A-Z a-z 0-9 _ . -")
    return value


# ------------------------------------------------------------------ variables
def variable_value(value: str, name: str = "value") -> str:
    """One channel-variable value as written inside ``{...}`` (see the module doc)."""
    text = value.strip()
    for refused in _REFUSED_IN_VALUE:
        if refused in text:
            raise OriginateError(
                f"channel variable {name}: {refused!r} cannot be passed to originate "
                f"(in {value[:80]!r})")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise OriginateError(f"channel variable {name}: control characters are not allowed")
    if len(text) > MAX_VALUE:
        raise OriginateError(f"channel variable {name}: longer than {MAX_VALUE} characters")
    return text.replace(",", "\\,").replace(" ", "\\s")


def channel_variables(variables: Mapping[str, str]) -> str:
    """``{name=value,...}`` in the order given."""
    parts = []
    for name, value in variables.items():
        if not _NAME.match(name):
            raise OriginateError(f"{name[:80]!r} is not a channel variable name")
        parts.append(f"{name}={variable_value(str(value), name)}")
    return "{" + ",".join(parts) + "}"


# ------------------------------------------------------------------ applications
def socket_app(host: str, port: int) -> str:
    """``'&socket(<host>:<port> async full)'``: the answered leg connects to our outbound
    server, async with full control (quoted: capture 07d, step B)."""
    if not _HOST.match(host):
        raise OriginateError(f"{host[:80]!r} is not a host name or address")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise OriginateError(f"{port!r} is not a TCP port")
    return f"'&socket({host}:{port} async full)'"


def park_app() -> str:
    """``&park()``: the answered leg waits, parked (mod_dptools park)."""
    return "&park()"


# ------------------------------------------------------------------ commands
def originate(destination: Destination, variables: Mapping[str, str], application: str) -> str:
    """``originate {vars}<dial string> <application>`` (send with ``bgapi``)."""
    if ORIGINATION_UUID in variables:
        uuid(variables[ORIGINATION_UUID])
    return f"originate {channel_variables(variables)}{destination.dial_string()} {application}"


def originate_to_extension(destination: Destination, variables: Mapping[str, str],
                           extension: str, dialplan: str = "XML",
                           context: str = "default") -> str:
    """``originate {vars}<dial string> <exten> <dialplan> <context>``: the answered leg runs
    that extension of the dialplan (switch_ivr_session_transfer)."""
    return (f"originate {channel_variables(variables)}{destination.dial_string()} "
            f"{_word(extension, 'extension')} {_word(dialplan, 'dialplan')} "
            f"{_word(context, 'context')}")


@dataclass(frozen=True)
class OriginateResult:
    """What ``originate`` answered: the new leg's uuid, or FreeSWITCH's hangup cause."""

    uuid: str = ""
    cause: str = ""  # USER_BUSY, NO_ANSWER, NORMAL_TEMPORARY_FAILURE, ... ("" on success)
    text: str = ""  # the reply as received, for logs

    @property
    def ok(self) -> bool:
        return bool(self.uuid)


_CAUSE = re.compile(r"[A-Z][A-Z0-9_]*\Z")


def originate_result(reply: str) -> OriginateResult:
    """``+OK <uuid>\\n`` | ``-ERR <CAUSE>\\n`` (07d); anything else (``-USAGE: ...``, an
    empty reply) is a failure with no FreeSWITCH cause, reported as such."""
    text = reply.strip()
    if text.startswith("+OK "):
        return OriginateResult(uuid=text[4:].split()[0], text=text)
    if text.startswith("-ERR "):
        cause = text[5:].strip()
        if _CAUSE.match(cause):
            return OriginateResult(cause=cause, text=text)
    return OriginateResult(cause="", text=text or "(empty reply)")


# ------------------------------------------------------------------ bridge
# Variables the caller's channel needs before ``bridge`` (mod_dptools.c audio_bridge_function):
CONTINUE_ON_FAIL = "continue_on_fail"  # a failed dial leaves the caller up (switch_channel.c
# switch_channel_handle_cause hangs it up otherwise) and sets originate_failed_cause
HANGUP_AFTER_BRIDGE = "hangup_after_bridge"  # false: the caller goes back to its
# application when the other leg hangs up (switch_ivr_bridge.c signal_bridge_on_hangup)
ORIGINATE_FAILED_CAUSE = "originate_failed_cause"  # set on the caller by a failed bridge


def bridge_variable_value(value: str, name: str = "value") -> str:
    """One value inside a ``bridge`` dial string's ``{...}``. The application's argument is
    not split on spaces (sendmsg's execute-app-arg reaches audio_bridge_function whole),
    only the braces on commas (switch_ivr_originate.c: switch_event_create_brackets(data,
    '{', '}', ',', ...)): a comma is escaped, spaces stay as they are."""
    text = value.strip()
    for refused in _REFUSED_IN_VALUE:
        if refused in text:
            raise OriginateError(f"channel variable {name}: {refused!r} cannot be passed to "
                                 f"bridge (in {value[:80]!r})")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise OriginateError(f"channel variable {name}: control characters are not allowed")
    if len(text) > MAX_VALUE:
        raise OriginateError(f"channel variable {name}: longer than {MAX_VALUE} characters")
    return text.replace(",", "\\,")


def bridge(destination: Destination, variables: Mapping[str, str]) -> AppCall:
    """The ``bridge`` application: dial ``destination`` from the call
    that runs it and bridge the two once it answers. ``bridge`` dials with
    switch_ivr_originate, which reads the same leg variables as ``originate``
    (``origination_uuid``: switch_ivr_originate.c, ``switch_event_get_header(var_event,
    "origination_uuid")`` then switch_core_session_set_uuid; ``originate_timeout``,
    ``ignore_early_media``, ``origination_caller_id_*``)."""
    if ORIGINATION_UUID in variables:
        uuid(variables[ORIGINATION_UUID])
    parts = []
    for name, value in variables.items():
        if not _NAME.match(name):
            raise OriginateError(f"{name[:80]!r} is not a channel variable name")
        parts.append(f"{name}={bridge_variable_value(str(value), name)}")
    return AppCall("bridge", "{" + ",".join(parts) + "}" + destination.dial_string())
