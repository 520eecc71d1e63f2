"""FreeSWITCH string helpers, re-implemented from their C behaviour (pure, no I/O).

Each function mirrors one routine of the FreeSWITCH core closely enough that the
simulator splits, encodes and parses exactly as a real switch does; the source
routine is named in each docstring.
"""

from __future__ import annotations

import re

_HEX_UPPER = "0123456789ABCDEF"
_URL_UNSAFE = frozenset('\r\n #%&+:;<=>?@[\\]^`{|}"')
# Fast path: values made only of these characters never change when encoded.
_SAFE_RUN = re.compile(r"[^\x21\x24\x27-\x2a\x2c-\x39\x41-\x5a\x5f\x61-\x7a\x7e]")


_ENCODED: dict[str, str] = {}  # event header values repeat a lot (uuids, names, states)


def url_encode(value: str) -> str:
    """switch_url_encode_opt(double_encode=FALSE).

    Bytes below 0x20, above 0x7E and the unsafe set become uppercase ``%XX``;
    an existing ``%XX`` with *uppercase* hex digits is kept as is.
    """
    cached = _ENCODED.get(value)
    if cached is not None:
        return cached
    encoded = _url_encode(value)
    if len(_ENCODED) > 50_000:
        _ENCODED.clear()
    _ENCODED[value] = encoded
    return encoded


def _url_encode(value: str) -> str:
    if not _SAFE_RUN.search(value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    out: list[str] = []
    end = len(raw)
    for i, byte in enumerate(raw):
        if (
            byte == 0x25
            and end - 1 - i > 1
            and chr(raw[i + 1]) in _HEX_UPPER
            and chr(raw[i + 2]) in _HEX_UPPER
        ):
            out.append("%")
        elif byte < 0x20 or byte > 0x7E or chr(byte) in _URL_UNSAFE:
            out.append("%" + _HEX_UPPER[byte >> 4] + _HEX_UPPER[byte & 0x0F])
        else:
            out.append(chr(byte))
    return "".join(out)


def url_decode(value: str) -> str:
    """switch_url_decode: every ``%XX`` (any case) becomes its byte; ``+`` is kept."""
    if "%" not in value:
        return value
    raw = value.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25 and i + 2 < len(raw) and _is_hex(raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "replace")


def _is_hex(two: bytes) -> bool:
    return len(two) == 2 and all(chr(c) in "0123456789abcdefABCDEF" for c in two)


def atoi(text: str | None) -> int:
    """C atoi: optional spaces and sign, then digits; anything else stops; no digits -> 0."""
    if not text:
        return 0
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


def as_uint32(value: int) -> int:
    """The value a C ``uint32_t`` holds after assigning ``value`` (two's complement wrap)."""
    return value & 0xFFFFFFFF


def switch_true(value: str | None) -> bool:
    """switch_true: yes/on/true/t/enabled/active/allow or a non-zero number."""
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("yes", "on", "true", "t", "enabled", "active", "allow"):
        return True
    return bool(re.fullmatch(r"-?\d+", lowered)) and int(lowered) != 0


def switch_false(value: str | None) -> bool:
    """switch_false: no/off/false/f/disabled/inactive/disallow or the number 0."""
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("no", "off", "false", "f", "disabled", "inactive", "disallow"):
        return True
    return bool(re.fullmatch(r"-?\d+", lowered)) and int(lowered) == 0


_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "s": " "}


def _cleanup(token: str, delim: str | None) -> str:
    """cleanup_separated_string: drop quotes and escapes, trim spaces."""
    i = 0
    while i < len(token) and token[i] == " ":
        i += 1
    out: list[str] = []
    end = 0
    inside = False
    while i < len(token):
        ch = token[i]
        if ch == "\\" and i + 1 < len(token):
            nxt = token[i + 1]
            if nxt in ("'", '"', "\\") or (delim and nxt == delim) or nxt in _UNESCAPE:
                out.append(_UNESCAPE.get(nxt, nxt))
                end = len(out)
                i += 2
                continue
        if ch == "'" and (inside or "'" in token[i + 1 :]):
            inside = not inside
            if inside:
                end = len(out)
        else:
            out.append(ch)
            if ch != " " or inside:
                end = len(out)
        i += 1
    return "".join(out[:end])


def separate_string(text: str, delim: str, limit: int) -> list[str]:
    """switch_separate_string: split on ``delim`` honouring single quotes and ``\\``.

    At most ``limit`` items; the last one keeps the rest of the text. A leading
    ``^^<c>`` picks ``<c>`` as the delimiter, as in FreeSWITCH.
    """
    if text.startswith("^^") and len(text) >= 4:
        delim, text = text[2], text[3:]
    if delim == " ":
        return _split_blank(text, limit)
    starts: list[int] = []
    cuts: list[int] = []
    i, inside, start_state = 0, False, True
    while i < len(text) and len(starts) <= limit:
        if start_state:
            if len(starts) == limit:
                break
            starts.append(i)
            start_state = False
            continue
        ch = text[i]
        if ch == "\\":
            i += 1
        elif ch == "'" and (inside or "'" in text[i + 1 :]):
            inside = not inside
        elif ch == delim and not inside and len(starts) < limit:
            # Once the last item has started FreeSWITCH's loop ends (`count < arraylen`,
            # switch_utils.c separate_string_char_delim): it keeps every later delimiter.
            cuts.append(i)
            start_state = True
        i += 1
    tokens = []
    for n, start in enumerate(starts):
        stop = cuts[n] if n < len(cuts) else len(text)
        tokens.append(_cleanup(text[start:stop], delim))
    return tokens


def _split_blank(text: str, limit: int) -> list[str]:
    """separate_string_blank_delim: runs of spaces separate, quotes group."""
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n and len(tokens) < limit:
        start = i
        while i < n and text[i] == " ":
            i += 1
        inside = False
        if len(tokens) == limit - 1:
            tokens.append(_cleanup(text[start:], None))
            return tokens
        while i < n:
            ch = text[i]
            if ch == "\\":
                i += 2
                continue
            if ch == "'":
                inside = not inside
            elif ch == " " and not inside:
                break
            i += 1
        tokens.append(_cleanup(text[start:i], None))
        while i < n and text[i] == " ":
            i += 1
    return tokens


_VAR_REF = re.compile(r"\$\$?\{([^{}]*)\}")


def expand_variables(text: str, lookup: dict[str, str], globals_: dict[str, str]) -> str:
    """switch_channel_expand_variables for plain ``${name}`` and ``$${name}``.

    Unknown names expand to the empty string, as in FreeSWITCH. API calls in
    ``${cmd(args)}`` form are not evaluated (listed in DIFFERENCES.md).
    """
    if "$" not in text:
        return text

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if match.group(0).startswith("$$"):
            return globals_.get(name, "")
        return lookup.get(name, globals_.get(name, ""))

    return _VAR_REF.sub(repl, text)


def strip_cr(line: str) -> str:
    """strip_cr: cut the text at the first CR or LF."""
    for i, ch in enumerate(line):
        if ch in "\r\n":
            return line[:i]
    return line


# switch_channel.c CAUSE_CHART: name <-> Q.850 code (the subset a call can end with)
CAUSES: dict[str, int] = {
    "NONE": 0,
    "UNALLOCATED_NUMBER": 1,
    "NO_ROUTE_TRANSIT_NET": 2,
    "NO_ROUTE_DESTINATION": 3,
    "CHANNEL_UNACCEPTABLE": 6,
    "CALL_AWARDED_DELIVERED": 7,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "SUBSCRIBER_ABSENT": 20,
    "CALL_REJECTED": 21,
    "NUMBER_CHANGED": 22,
    "REDIRECTION_TO_NEW_DESTINATION": 23,
    "EXCHANGE_ROUTING_ERROR": 25,
    "DESTINATION_OUT_OF_ORDER": 27,
    "INVALID_NUMBER_FORMAT": 28,
    "FACILITY_REJECTED": 29,
    "RESPONSE_TO_STATUS_ENQUIRY": 30,
    "NORMAL_UNSPECIFIED": 31,
    "NORMAL_CIRCUIT_CONGESTION": 34,
    "NETWORK_OUT_OF_ORDER": 38,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "SWITCH_CONGESTION": 42,
    "ACCESS_INFO_DISCARDED": 43,
    "REQUESTED_CHAN_UNAVAIL": 44,
    "PRE_EMPTED": 45,
    "FACILITY_NOT_SUBSCRIBED": 50,
    "OUTGOING_CALL_BARRED": 52,
    "INCOMING_CALL_BARRED": 54,
    "BEARERCAPABILITY_NOTAUTH": 57,
    "BEARERCAPABILITY_NOTAVAIL": 58,
    "SERVICE_UNAVAILABLE": 63,
    "BEARERCAPABILITY_NOTIMPL": 65,
    "CHAN_NOT_IMPLEMENTED": 66,
    "FACILITY_NOT_IMPLEMENTED": 69,
    "SERVICE_NOT_IMPLEMENTED": 79,
    "INVALID_CALL_REFERENCE": 81,
    "INCOMPATIBLE_DESTINATION": 88,
    "INVALID_MSG_UNSPECIFIED": 95,
    "MANDATORY_IE_MISSING": 96,
    "MESSAGE_TYPE_NONEXIST": 97,
    "WRONG_MESSAGE": 98,
    "IE_NONEXIST": 99,
    "INVALID_IE_CONTENTS": 100,
    "WRONG_CALL_STATE": 101,
    "RECOVERY_ON_TIMER_EXPIRE": 102,
    "MANDATORY_IE_LENGTH_ERROR": 103,
    "PROTOCOL_ERROR": 111,
    "INTERWORKING": 127,
    "SUCCESS": 142,
    "ORIGINATOR_CANCEL": 487,
    "CRASH": 700,
    "SYSTEM_SHUTDOWN": 701,
    "LOSE_RACE": 502,
    "MANAGER_REQUEST": 503,
    "BLIND_TRANSFER": 600,
    "ATTENDED_TRANSFER": 601,
    "ALLOTTED_TIMEOUT": 602,
    "USER_CHALLENGE": 603,
    "MEDIA_TIMEOUT": 604,
    "PICKED_OFF": 605,
    "USER_NOT_REGISTERED": 606,
    "PROGRESS_TIMEOUT": 607,
    "GATEWAY_DOWN": 609,
}


def cause_from_str(text: str | None) -> str:
    """switch_channel_str2cause: a name (any case) or a number; unknown gives NORMAL_CLEARING."""
    if not text:
        return "NORMAL_CLEARING"
    upper = text.strip().upper()
    if upper in CAUSES:
        return upper
    if upper.isdigit():
        for name, code in CAUSES.items():
            if code == int(upper):
                return name
    return "NORMAL_CLEARING"
