"""Recording one channel: ``uuid_record`` (mod_commands). Pure.

signalwire/freeswitch, src/mod/applications/mod_commands/mod_commands.c,
session_record_function (SESS_REC_SYNTAX ``<uuid> [start|stop|mask|unmask] <path>
[<limit>] [<recording_vars>]``): the line is split on spaces into at most 5 arguments,
so the path must be one word; ``<limit>`` is seconds (atoi; 0 = none). Replies:
``+OK Success``, ``-ERR Cannot locate session!``, ``-ERR Cannot record session!``
(switch_ivr_record_session_event refuses a channel without media), ``-ERR Cannot stop
record session!`` (no recording of that path). The recording's media bug fires
RECORD_START when it starts and RECORD_STOP (header ``Record-File-Path``, the path as
given) when it closes: on stop, at the limit, or when the channel hangs up
(src/switch_ivr_async.c record_callback, send_record_stop_event). The file format
follows the path's extension (.wav, .mp3 with mod_shout).
"""

from __future__ import annotations

from controller.freeswitch.args import UnsafeArgument, token, uuid

RECORD_START = "RECORD_START"
RECORD_STOP = "RECORD_STOP"
PATH_HEADER = "Record-File-Path"
MAX_LIMIT_SECONDS = 86400


def uuid_record_start(channel: str, path: str, limit_seconds: int = 0) -> str:
    if not 0 <= limit_seconds <= MAX_LIMIT_SECONDS:
        raise UnsafeArgument(f"record limit {limit_seconds} is not 0-{MAX_LIMIT_SECONDS} s")
    line = f"uuid_record {uuid(channel)} start {token(path, 'recording path')}"
    return f"{line} {limit_seconds}" if limit_seconds else line


def uuid_record_stop(channel: str, path: str = "all") -> str:
    """Stop the recording of ``path`` ("all": every recording of the channel)."""
    return f"uuid_record {uuid(channel)} stop {token(path, 'recording path')}"


def succeeded(reply: str) -> bool:
    return reply.startswith("+OK")
