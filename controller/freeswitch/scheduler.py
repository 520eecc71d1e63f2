"""``sched_api``, ``sched_del`` and ``show tasks``: FreeSWITCH's own timers. Pure.

A task scheduled in FreeSWITCH fires whether or not the controller is running,
which is why room time limits live there. ``sched_api +N <group> <command>``
runs ``command`` N whole seconds from now (mod_commands.c: sched_api_function;
the scheduler's clock is switch_epoch_time_now, whole seconds, switch_scheduler.c),
``sched_del <group>`` removes every task of the group.
"""

from __future__ import annotations

from controller.freeswitch.args import token


def sched_api(seconds: int, group: str, command: str) -> str:
    if seconds < 1:
        raise ValueError(f"sched_api needs at least 1 second, not {seconds}")
    return f"sched_api +{int(seconds)} {token(group, 'task group')} {command}"


def sched_del(group: str) -> str:
    return f"sched_del {token(group, 'task group')}"


def show_tasks() -> str:
    return "show tasks as json"
