"""Core API commands (mod_commands.c): reply texts as FreeSWITCH prints them.

Each command takes (core, argument, calling session) and returns its output;
``Core.execute_api`` wraps them with the API event, the listener turns an
empty output into ``-ERR no reply``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.sim.fsutil import atoi, cause_from_str, separate_string, switch_true
from controller.sim.record import SYNTAX as RECORD_SYNTAX
from controller.sim.record import uuid_record
from controller.sim.show import SHOW_SYNTAX
from controller.sim.show import show as show_tables

if TYPE_CHECKING:
    from controller.sim.channel import Channel
    from controller.sim.core import Core

VERSION = (
    "FreeSWITCH Version 1.11.1-release+git~20260526T204126Z~c2c59645f6~64bit "
    "(git c2c5964 2026-05-26 20:41:26Z 64bit)"
)
SCHED_SYNTAX = "[+@]<time> <group_name> <command_string>[&]"


@dataclass
class Task:
    task_id: int
    desc: str
    group: str
    runtime: int
    command: str
    recur: int = 0
    greenlet: object = field(default=None, repr=False)


class Scheduler:
    """switch_scheduler: tasks run their API command at an epoch second."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.tasks: dict[int, Task] = {}
        self._ids = itertools.count(1)

    def add(self, when: int, group: str, command: str, recur: int = 0) -> int:
        task = Task(next(self._ids), "sched_api_function", group, when, command, recur)
        self.tasks[task.task_id] = task
        self._arm(task)
        return task.task_id

    def _arm(self, task: Task) -> None:
        delay = max(0.0, task.runtime - self.core.clock.now())
        task.greenlet = self.core.spawn_later(delay, self._run, task.task_id)

    def _run(self, task_id: int) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        name, _, arg = task.command.partition(" ")
        self.core.execute_api(name, arg or None)
        if task.recur and task_id in self.tasks:
            task.runtime = int(self.core.clock.now()) + task.recur
            self._arm(task)
        else:
            self.tasks.pop(task_id, None)

    def delete_id(self, task_id: int) -> int:
        task = self.tasks.pop(task_id, None)
        if task is None:
            return 0
        task.greenlet.kill(block=False)
        return 1

    def delete_group(self, group: str) -> int:
        doomed = [t for t in self.tasks.values() if t.group == group]
        for task in doomed:
            self.delete_id(task.task_id)
        return len(doomed)


# ------------------------------------------------------------ commands
def version(core: Core, arg: str, session: Channel | None) -> str:
    if arg.strip().lower() == "short":
        return "1.11.1"
    return VERSION + "\n"


def status(core: Core, arg: str, session: Channel | None) -> str:
    up = int(core.clock.now() - core.started_at)
    days, rem = divmod(up, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    live = len(core.channels)
    return (
        f"UP {unit(0, 'year')}, {unit(days, 'day')}, {unit(hours, 'hour')}, "
        f"{unit(minutes, 'minute')}, {unit(seconds, 'second')}, {unit(0, 'millisecond')}, "
        f"{unit(0, 'microsecond')}\n"
        f"FreeSWITCH (Version {VERSION[len('FreeSWITCH Version ') :]}) is ready\n"
        f"{core.sessions_since_start} session(s) since startup\n"
        f"{live} session(s) - peak {live}, last 5min {live} \n"
        "0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n"
        "1000 session(s) max\n"
        "min idle cpu 0.00/99.50\n"
        "Current Stack Size/Max 240K/8192K\n"
    )


def echo(core: Core, arg: str, session: Channel | None) -> str:
    return arg


def uuid_kill(core: Core, arg: str, session: Channel | None) -> str:
    if not arg:
        return "-USAGE: <uuid> [cause]\n"
    uuid, _, cause = arg.partition(" ")
    channel = core.find_channel(uuid)
    if channel is None or channel.down:
        return "-ERR No such channel!\n"
    channel.hangup(cause_from_str(cause) if cause else "NORMAL_CLEARING")
    return "+OK\n"


def uuid_getvar(core: Core, arg: str, session: Channel | None) -> str:
    argv = separate_string(arg, " ", 4) if arg else []
    if len(argv) >= 2 and argv[0]:
        channel = core.find_channel(argv[0])
        if channel is None:
            return "-ERR No such channel!\n"
        value = channel.get_var(argv[1])
        return value if value is not None else "_undef_"
    return "-USAGE: <uuid> <var>\n"


def uuid_setvar(core: Core, arg: str, session: Channel | None) -> str:
    argv = separate_string(arg, " ", 3) if arg else []
    if len(argv) in (2, 3) and argv[0]:
        channel = core.find_channel(argv[0])
        if channel is None:
            return "-ERR No such channel!\n"
        if not argv[1]:
            return "-ERR No variable specified\n"
        channel.set_var(argv[1], argv[2] if len(argv) == 3 else None)
        return "+OK\n"
    return "-USAGE: <uuid> <var> [value]\n"


def uuid_setvar_multi(core: Core, arg: str, session: Channel | None) -> str:
    uuid, sep, variables = (arg or "").partition(" ")
    if sep:
        channel = core.find_channel(uuid)
        if channel is None:
            return "-ERR No such channel!\n"
        out, count = [], 0
        for item in separate_string(variables, ";", 64):
            name, _, value = item.partition("=")
            if not name:
                out.append("-ERR No variable specified\n")
            else:
                channel.set_var(name, value or None)
                count += 1
        if count:
            return "".join(out) + "+OK\n"
        return "".join(out) + "-USAGE: <uuid> <var>=<value>;<var>=<value>...\n"
    return "-USAGE: <uuid> <var>=<value>;<var>=<value>...\n"


def uuid_exists(core: Core, arg: str, session: Channel | None) -> str:
    return "true" if arg and core.find_channel(arg) is not None else "false"


def uuid_answer(core: Core, arg: str, session: Channel | None) -> str:
    channel = core.find_channel(arg)
    if channel is not None and channel.answer():
        return "+OK\n"
    return "-ERROR\n"


def uuid_break(core: Core, arg: str, session: Channel | None) -> str:
    if not arg:
        return "-USAGE: <uuid> [all]\n"
    uuid, _, flag = arg.partition(" ")
    channel = core.find_channel(uuid)
    if channel is None:
        return "-ERR No such channel!\n"
    if "all" in flag:
        channel.private_events.clear()
    channel.break_requested = True
    channel.poke()
    return "+OK\n"


def _dtmf_args(arg: str) -> tuple[str, str] | None:
    argv = separate_string(arg, " ", 2) if arg else []
    if len(argv) < 2 or not argv[0] or not argv[1]:
        return None
    return argv[0], argv[1]


def uuid_send_dtmf(core: Core, arg: str, session: Channel | None) -> str:
    """Digits sent *to* the phone (switch_core_session_send_dtmf_string)."""
    args = _dtmf_args(arg)
    if args is None:
        return "-USAGE: <uuid> <dtmf_data>\n"
    channel = core.find_channel(args[0])
    if channel is None:
        return "-ERR Cannot locate session!\n"
    if channel.phone is not None:
        channel.phone.received_dtmf.extend(d for d in args[1] if d in "0123456789*#ABCDabcd")
    return f"+OK {args[0]} sent DTMF {args[1]}.\n"


def uuid_recv_dtmf(core: Core, arg: str, session: Channel | None) -> str:
    """Digits as if the caller pressed them (switch_channel_queue_dtmf_string)."""
    args = _dtmf_args(arg)
    if args is None:
        return "-USAGE: <uuid> <dtmf_data>\n"
    channel = core.find_channel(args[0])
    if channel is None:
        return "-ERR Cannot locate session!\n"
    for digit in args[1]:
        if digit in "0123456789*#ABCDabcd":
            channel.queue_dtmf(digit.upper(), 2000, "APP")
    return f"+OK {args[0]} received DTMF {args[1]}.\n"


def uuid_transfer(core: Core, arg: str, session: Channel | None) -> str:
    argv = separate_string(arg, " ", 5) if arg else []
    if len(argv) < 2:
        return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
    channel = core.find_channel(argv[0])
    if channel is None:
        return "-ERR No such channel!\n"
    dest = argv[2] if argv[1].startswith("-") and len(argv) > 2 else argv[1]
    if channel.down:
        return "-ERR\n"
    channel.request_transfer(dest)
    return "+OK\n"


def hupall(core: Core, arg: str, session: Channel | None) -> str:
    argv = separate_string(arg, " ", 11) if arg else []
    cause = cause_from_str(argv[0]) if argv else "MANAGER_REQUEST"
    matches = [
        (argv[i], argv[i + 1]) for i in range(1, len(argv) - 1, 2) if argv[i] and argv[i + 1]
    ]
    for channel in list(core.channels.values()):
        if all(channel.get_var(k) == v for k, v in matches):
            channel.hangup(cause)
    if not matches:
        return f"+OK hangup all channels with cause {cause}\n"
    more = "..." if len(matches) > 1 else ""
    first = f"[{matches[0][0]}]=[{matches[0][1]}]{more}"
    return f"+OK hangup all channels matching {first} with cause: {cause}\n"


def global_getvar(core: Core, arg: str, session: Channel | None) -> str:
    if not arg:
        return "".join(f"{k}={v}\n" for k, v in core.global_vars.items())
    return core.global_vars.get(arg.strip(), "")


def global_setvar(core: Core, arg: str, session: Channel | None) -> str:
    name, sep, value = (arg or "").partition("=")
    if not name.strip():
        return "-USAGE: <var>=<value> [=<value2>]\n"
    if value:
        core.global_vars[name.strip()] = value
    else:
        core.global_vars.pop(name.strip(), None)
    return "+OK"


def sched_api(core: Core, arg: str, session: Channel | None) -> str:
    when_text, sep, rest = (arg or "").partition(" ")
    group, sep2, command = rest.partition(" ")
    if not arg or not sep or not sep2:
        return f"-ERR Invalid syntax. USAGE: {SCHED_SYNTAX}\n"
    now = int(core.clock.now())
    recur = 0
    if when_text.startswith("+"):
        when = now + atoi(when_text[1:])
    elif when_text.startswith("@"):
        recur = atoi(when_text[1:])
        when = now + recur
    else:
        when = atoi(when_text)
    command = command[:-1] if command.endswith("&") else command
    task_id = core.scheduler.add(when, group, command, recur)
    return f"+OK Added: {task_id}\n"


def sched_del(core: Core, arg: str, session: Channel | None) -> str:
    if not arg:
        return "-ERR Invalid syntax\n"
    if arg.isdigit():
        count = core.scheduler.delete_id(int(arg)) if int(arg) > 0 else 0
    else:
        count = core.scheduler.delete_group(arg)
    return f"+OK Deleted: {count}\n"


def show(core: Core, arg: str, session: Channel | None) -> str:
    return show_tables(core, arg)


def uptime(core: Core, arg: str, session: Channel | None) -> str:
    seconds = int(core.clock.now() - core.started_at)
    unit = (arg or "s").strip().lower()
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}.get(unit, 1)
    return str(int(seconds / scale))


def eval_(core: Core, arg: str, session: Channel | None) -> str:
    from controller.sim.fsutil import expand_variables

    if arg.startswith("uuid:"):
        uuid, _, rest = arg[5:].partition(" ")
        channel = core.find_channel(uuid)
        lookup = channel.lookup() if channel is not None else {}
        return expand_variables(rest, lookup, core.global_vars)
    return expand_variables(arg, {}, core.global_vars)


def originate(core: Core, arg: str, session: Channel | None) -> str:
    from controller.sim.originate import originate_api

    return originate_api(core, arg, session)


def register_all(core: Core) -> None:
    from controller.sim.conference.api import conference_api

    for name, func, syntax in [
        ("conference", conference_api, ""),
        ("version", version, "[short]"),
        ("status", status, ""),
        ("echo", echo, "<data>"),
        ("uuid_kill", uuid_kill, "<uuid> [cause]"),
        ("uuid_getvar", uuid_getvar, "<uuid> <var>"),
        ("uuid_setvar", uuid_setvar, "<uuid> <var> [value]"),
        ("uuid_setvar_multi", uuid_setvar_multi, "<uuid> <var>=<value>;<var>=<value>..."),
        ("uuid_exists", uuid_exists, "<uuid>"),
        ("uuid_answer", uuid_answer, "<uuid>"),
        ("uuid_break", uuid_break, "<uuid> [all]"),
        ("uuid_send_dtmf", uuid_send_dtmf, "<uuid> <dtmf_data>"),
        ("uuid_recv_dtmf", uuid_recv_dtmf, "<uuid> <dtmf_data>"),
        (
            "uuid_transfer",
            uuid_transfer,
            "<uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]",
        ),
        ("uuid_record", uuid_record, RECORD_SYNTAX),
        ("hupall", hupall, "<cause> [<var> <value>]"),
        ("global_getvar", global_getvar, "<var>"),
        ("global_setvar", global_setvar, "<var>=<value> [=<value2>]"),
        ("sched_api", sched_api, SCHED_SYNTAX),
        ("sched_del", sched_del, "<task_id>|<group_id>"),
        ("show", show, SHOW_SYNTAX),
        ("uptime", uptime, "[us|ms|s|m|h|d]"),
        ("eval", eval_, "[uuid:<uuid> ]<expression>"),
        ("originate", originate, "<call url> <exten>|&<application_name>(<app_args>)"),
    ]:
        core.register_api(name, func, syntax)


def is_true(value: str | None) -> bool:
    return switch_true(value)
