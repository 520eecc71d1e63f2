"""``play_and_get_digits``: prompt, collect DTMF, check, retry (mod_dptools).

Re-implemented from FreeSWITCH 1.11.1: mod_dptools.c play_and_get_digits_function
(2822-2910), switch_ivr_play_say.c switch_ivr_read (2505-2628) and
switch_play_and_get_digits (2630-2745), switch_ivr.c switch_ivr_collect_digits_count
(1342-1505). Each behaviour below cites the lines it follows. Status words stand for
switch_status_t values; time is the simulator's clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.sim.apps import play_file
from controller.sim.fsutil import as_uint32, atoi, separate_string
from controller.sim.session import register_app

if TYPE_CHECKING:
    from controller.sim.channel import Channel

SUCCESS, FALSE, TIMEOUT, TOO_SMALL, RESTART, BREAK = (
    "SUCCESS", "FALSE", "TIMEOUT", "TOO_SMALL", "RESTART", "BREAK")
DIGIT_BUFFER = 128  # mod_dptools.c:2832: char digit_buffer[128]
READ_RESULT = "read_result"  # switch_types.h:138 SWITCH_READ_RESULT_VARIABLE
TERMINATOR_USED = "read_terminator_used"  # switch_types.h:130


@dataclass
class Read:
    """One switch_ivr_read: its status and the digit buffer."""

    status: str
    digits: str


@register_app("play_and_get_digits")
def play_and_get_digits_app(channel: Channel, arg: str) -> None:
    """mod_dptools.c:2822-2910: the argument line, its defaults and clamps."""
    if not arg:
        # mod_dptools.c:2840-2845
        channel.core.log(3, "mod_dptools.c", "play_and_get_digits_function", 2843,
                         "No arguments specified.", channel.uuid)
        return
    # mod_dptools.c:2841: switch_separate_string on ' ' into argv[11] (quotes group, and
    # the 11th item keeps the rest of the line)
    argv = separate_string(arg, " ", 11)
    given = len(argv)
    argv += [""] * (11 - given)
    min_digits = atoi(argv[0])  # 2847
    max_digits = atoi(argv[1]) if given > 1 else 0  # 2849-2851
    max_tries = atoi(argv[2]) if given > 2 else 0  # 2853-2855
    timeout = atoi(argv[3]) if given > 3 else 1000  # 2857-2859; int timeout = 1000 (2831)
    terminators = argv[4] if given > 4 else ""  # 2861-2863
    prompt = argv[5] if given > 5 else ""  # 2865-2867
    bad_input = argv[6] if given > 6 else ""  # 2869-2871
    var_name = argv[7] if given > 7 else ""  # 2873-2875
    regex = argv[8] if given > 8 else ""  # 2877-2879
    digit_timeout = as_uint32(atoi(argv[9])) if given > 9 else 0  # 2881-2883 switch_atoui
    failure = argv[10] if given > 10 else ""  # 2885-2888
    min_digits = max(min_digits, 0)  # 2890-2892
    max_digits = max(max_digits, min_digits)  # 2894-2896
    timeout = max(timeout, 1000)  # 2898-2900: "if (timeout <= 1000) timeout = 1000"
    terminators = terminators or "#"  # 2902-2904: an empty terminator list means "#"
    play_and_get_digits(channel, min_digits, max_digits, as_uint32(max_tries), timeout,
                        terminators, prompt, bad_input, var_name, regex, digit_timeout, failure)


def play_and_get_digits(channel: Channel, min_digits: int, max_digits: int, max_tries: int,
                        timeout: int, terminators: str, prompt: str, bad_input: str,
                        var_name: str, regex: str, digit_timeout: int, failure: str) -> str:
    """switch_ivr_play_say.c:2630-2745 switch_play_and_get_digits."""
    if regex and var_name:
        channel.set_var(f"{var_name}_invalid", None)  # 2648-2652
    while channel.ready and max_tries:  # 2654
        read = switch_ivr_read(channel, min_digits, max_digits, prompt, var_name, timeout,
                               terminators, digit_timeout)  # 2657-2660
        if read.status == RESTART:  # 2662-2664
            return RESTART
        if read.status == TIMEOUT and len(read.digits) >= min_digits:  # 2666-2668
            read.status = SUCCESS
        # 2670-2673: nothing wanted, nothing pressed, but some terminator seen (even one
        # left over from an earlier read: read_terminator_used is never cleared)
        if min_digits == 0 and not read.digits and channel.get_var(TERMINATOR_USED) is not None:
            return SUCCESS
        if not (read.status == TOO_SMALL and not read.digits):  # 2675
            if read.status == SUCCESS and read.digits:  # 2676-2677
                if not regex:  # 2678-2680
                    return SUCCESS
                if regex_match(read.digits, regex):  # 2683-2684
                    return SUCCESS
                channel.set_var(var_name, None)  # 2686: the digits are taken back
                if var_name:  # 2687-2691
                    channel.set_var(f"{var_name}_invalid", read.digits)
        if not channel.ready:  # 2697-2699
            break
        # 2701: the invalid sound after every failed try, the last one too; no input
        # arguments, so digits pressed meanwhile stay queued for the next try
        if bad_input:
            play_file(channel, bad_input, None, take_digits=False)
        max_tries -= 1  # 2702
    # 2705: the buffer is cleared, the variable keeps what the last read left
    if failure:  # 2710-2743: transfer on failure
        target = separate_string(failure, " ", 4)
        channel.core.log(4, "switch_ivr_play_say.c", "switch_play_and_get_digits", 2738,
                         f"PAGD failure! Transfer to: {target[0]} / "
                         f"{target[1] if len(target) > 1 else '(null)'} / "
                         f"{target[2] if len(target) > 2 else '(null)'}", channel.uuid)
        channel.request_transfer(target[0])
    return FALSE


def regex_match(target: str, expression: str) -> bool:
    """switch_regex.c switch_regex_match_partial: PCRE, unanchored (pcre2_match from offset
    0); ``/expr/flags`` form with i, s, m, x; a pattern that does not compile matches
    nothing. Python's ``re`` stands in for PCRE2 (same syntax for digit patterns)."""
    flags = 0
    if expression.startswith("/"):
        body, slash, opts = expression[1:].rpartition("/")
        if not slash:
            return False  # "missing ending '/' delimeter": an error, no match
        expression = body
        for letter, flag in (("i", re.I), ("s", re.S), ("m", re.M), ("x", re.X)):
            if letter in opts:
                flags |= flag
    try:
        return re.search(expression, target, flags) is not None
    except re.error:
        return False


def switch_ivr_read(channel: Channel, min_digits: int, max_digits: int, prompt: str,
                    var_name: str, timeout: int, terminators: str, digit_timeout: int) -> Read:
    """switch_ivr_play_say.c:2505-2628."""
    term_required = terminators.startswith("=")  # 2525-2527
    if not digit_timeout:  # 2531-2533
        digit_timeout = timeout
    if max_digits < min_digits:  # 2535-2539
        max_digits = min_digits
    channel.set_var(READ_RESULT, None)  # 2542
    if var_name:  # 2544-2546
        channel.set_var(var_name, None)
    if (min_digits and DIGIT_BUFFER < min_digits) or DIGIT_BUFFER < max_digits:  # 2548-2551
        channel.core.log(3, "switch_ivr_play_say.c", "switch_ivr_read", 2549,
                         "Buffer too small!", channel.uuid)
        return Read(FALSE, "")
    if not channel.pre_answer():  # 2553-2555
        return Read(FALSE, "")
    buffer: list[str] = []
    status = SUCCESS
    if prompt and prompt.lower() != "silence":  # 2561: "silence" is no prompt at all

        def first_digit(digit: str) -> bool:
            # switch_ivr_play_say.c:1713-1716: with args->buf and no input callback the
            # digit is written to buf[0] and the playback breaks
            buffer[:1] = [digit]
            return True

        response = play_file(channel, prompt, None, on_digit=first_digit)
        if response != "FILE PLAYED" or channel.down:  # not BREAK/SUCCESS: 2567-2569
            status = FALSE
        # BREAK (a digit, or uuid_break) counts as SUCCESS: 2562-2564
    if status != SUCCESS:
        return _read_end(channel, status, "", 0, max_digits, terminators, var_name)
    length = len(buffer)  # 2571
    terminator = ""
    if (min_digits and length < min_digits) or length < max_digits:  # 2573-2578
        status, terminator = collect_digits_count(
            channel, buffer, DIGIT_BUFFER, max_digits, terminators,
            digit_timeout if length else timeout, digit_timeout)
    if terminator:  # 2581-2593
        channel.set_var(TERMINATOR_USED, terminator)
        position = terminators.find(terminator)
        if position >= 1 and terminators[position - 1] in "+x":
            buffer.append(terminator)  # "+#": the terminator is kept with the digits
            if terminators[position - 1] == "x":
                status = RESTART
    elif term_required:  # 2594-2596
        status = TOO_SMALL
    length = len(buffer)  # 2598
    if min_digits and length < min_digits:  # 2599-2601
        status = TOO_SMALL
    # 2603-2614: read_result
    channel.set_var(READ_RESULT, {SUCCESS: "success", TIMEOUT: "timeout"}.get(status, "failure"))
    return _read_end(channel, status, "".join(buffer), length, max_digits, terminators,
                     var_name)


def _read_end(channel: Channel, status: str, digits: str, length: int, max_digits: int,
              terminators: str, var_name: str) -> Read:
    """The ``end:`` label of switch_ivr_read (switch_ivr_play_say.c:2616-2627)."""
    # 2618-2620: a single-key read whose only key is a terminator reads as nothing
    if (status != RESTART and max_digits == 1 and length == 1 and terminators
            and digits[:1] in terminators):
        digits = ""
    if var_name and digits:  # 2622-2624
        channel.set_var(var_name, digits)
    return Read(status, digits)


def collect_digits_count(channel: Channel, buffer: list[str], buflen: int, maxdigits: int,
                         terminators: str, first_timeout: int,
                         digit_timeout: int) -> tuple[str, str]:
    """switch_ivr.c:1342-1505 (abs_timeout 0, as switch_ivr_read passes): (status,
    terminator). ``buffer`` holds the digits so far and receives the new ones."""
    x = len(buffer)
    if x >= buflen or x >= maxdigits:  # 1363-1365
        return FALSE, ""
    if terminators:  # 1400-1409: a terminator already in the buffer (the prompt's digit)
        for i, digit in enumerate(buffer):
            if digit in terminators:
                del buffer[i:]
                return SUCCESS, digit
    # 1415-1422: the effective timeout; 0 for both means wait forever
    if digit_timeout and first_timeout:
        effective = first_timeout
    elif digit_timeout:
        effective = digit_timeout
    else:
        effective = digit_timeout = first_timeout
    clock = channel.core.clock
    started = clock.now()
    status = FALSE
    while channel.ready:  # 1428: no CF_BREAK test here: uuid_break does not end it
        # 1440: switch_ivr_parse_all_events: queued sendmsgs run nested
        if channel.has_private():
            from controller.sim.session import process_private

            channel.next_frame()
            process_private(channel)
            continue
        elapsed_ms = (clock.now() - started) * 1000.0
        if effective and elapsed_ms >= effective:  # 1444-1451
            status = TIMEOUT
            break
        if channel.dtmf_queue:  # 1453
            if effective:  # 1456-1459: the next digit gets digit_timeout from now
                effective = digit_timeout
                started = clock.now()
            for _ in range(maxdigits + 1):  # 1462-1481
                digit = channel.dequeue_dtmf()  # the DTMF event fires here
                if digit is None:
                    break
                if terminators and digit in terminators:  # 1467-1471
                    return SUCCESS, digit
                buffer.append(digit)  # 1474-1475
                if len(buffer) >= buflen or len(buffer) >= maxdigits:  # 1477-1480
                    return SUCCESS, ""
            continue
        # 1487: read one frame; here: sleep until a digit, a command or the timeout
        remaining = (effective - elapsed_ms) / 1000.0 if effective else None
        channel.wait_input(remaining)
    return status, ""
