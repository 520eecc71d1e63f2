"""mod_commands `show`: channels, calls, tasks as delim/csv, json or xml (pure formatting).

FreeSWITCH answers `show` from its core SQL tables; the simulator builds the
same rows from its live objects, with the tables' column names and order
(switch_core_sqldb.c) and show_function's printers (mod_commands.c).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from controller.sim import cjson
from controller.sim.clock import date_local
from controller.sim.fsutil import separate_string

if TYPE_CHECKING:
    from controller.sim.channel import Channel
    from controller.sim.core import Core

SHOW_SYNTAX = (
    "codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like "
    "<match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|"
    "chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status"
)

CHANNEL_COLUMNS = (
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "application",
    "application_data",
    "dialplan",
    "context",
    "read_codec",
    "read_rate",
    "read_bit_rate",
    "write_codec",
    "write_rate",
    "write_bit_rate",
    "secure",
    "hostname",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "sent_callee_name",
    "sent_callee_num",
    "initial_cid_name",
    "initial_cid_num",
    "initial_ip_addr",
    "initial_dest",
    "initial_dialplan",
    "initial_context",
)
_CALL_A = (
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "hostname",
    "sent_callee_name",
    "sent_callee_num",
)
_CALL_B = (
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "sent_callee_name",
    "sent_callee_num",
)
CALL_COLUMNS = _CALL_A + tuple(f"b_{c}" for c in _CALL_B) + ("call_created_epoch",)
TASK_COLUMNS = (
    "task_id",
    "task_desc",
    "task_group",
    "task_runtime",
    "task_sql_manager",
    "hostname",
)

Row = list[str | None]  # None: SQL NULL (printed as "" by switch_str_nil)


def channel_row(channel: Channel, hostname: str) -> dict[str, str | None]:
    leg, created = channel.leg, channel.times["created"]
    rc, wc = channel.read_codec, channel.write_codec  # (name, rate, bit rate) or None
    return {
        "uuid": channel.uuid,
        "direction": "inbound",
        "created": date_local(created),
        "created_epoch": str(created // 1_000_000),
        "name": channel.name,
        "state": channel.state,
        "cid_name": leg.caller_name,
        "cid_num": leg.caller_id,
        "ip_addr": "127.0.0.1",
        "dest": leg.destination,
        "application": channel.get_var("current_application") or "",
        "application_data": channel.get_var("current_application_data") or "",
        "dialplan": "XML",
        "context": "public",
        "read_codec": rc[0] if rc else "",
        "read_rate": rc[1] if rc else "",
        "read_bit_rate": rc[2] if rc else "",
        "write_codec": wc[0] if wc else "",
        "write_rate": wc[1] if wc else "",
        "write_bit_rate": wc[2] if wc else "",
        "secure": "",
        "hostname": hostname,
        "presence_id": "",
        "presence_data": "",
        "accountcode": "",
        "callstate": channel.callstate,
        "callee_name": "",
        "callee_num": "",
        "callee_direction": "",
        "call_uuid": channel.uuid,
        "sent_callee_name": "",
        "sent_callee_num": "",
        "initial_cid_name": leg.caller_name,
        "initial_cid_num": leg.caller_id,
        "initial_ip_addr": "127.0.0.1",
        "initial_dest": leg.destination,
        "initial_dialplan": "XML",
        "initial_context": "public",
    }


def _rows(core: Core, table: str) -> tuple[tuple[str, ...], list[Row]]:
    host = core.config.hostname
    channels = sorted(core.channels.values(), key=lambda c: c.times["created"])
    if table == "channels":
        return CHANNEL_COLUMNS, [
            [channel_row(c, host)[k] for k in CHANNEL_COLUMNS] for c in channels
        ]
    if table == "calls":
        # no bridges in the simulator: every channel is an a-leg without a b-leg
        rows: list[Row] = []
        for c in channels:
            data = channel_row(c, host)
            rows.append([data[k] for k in _CALL_A] + [None] * len(_CALL_B) + [None])
        return CALL_COLUMNS, rows
    tasks = sorted(core.scheduler.tasks.values(), key=lambda t: t.task_id)
    return TASK_COLUMNS, [
        [str(t.task_id), t.desc, t.group, str(t.runtime), "0", host] for t in tasks
    ]


def show(core: Core, arg: str | None) -> str:
    argv = separate_string(arg or "", " ", 6) if arg else []
    argv += [None] * (6 - len(argv))
    command = argv[0]
    if not command:
        return f"-USAGE: {SHOW_SYNTAX}\n"
    as_ = argv[2] if argv[2] and argv[1] and argv[1].lower() == "as" else None
    table, justcount = command.lower(), False
    if table in ("channels", "calls"):
        if argv[1] and argv[1].lower() == "count":
            justcount = True
            if argv[2] and argv[3] and argv[2].lower() == "as":
                as_ = argv[3]
    elif table != "tasks":
        return f"-USAGE: {SHOW_SYNTAX}\n"
    columns, rows = _rows(core, table)
    fmt = (as_ or "delim").lower()
    if fmt in ("delim", "csv"):
        delim = "," if as_ is None else (argv[3] or ",")
        if justcount:
            return f"\n{len(rows)} total.\n"
        out = [delim.join(columns) + "\n"] if rows else []
        out += [delim.join(v or "" for v in row) + "\n" for row in rows]
        return "".join(out) + f"\n{len(rows)} total.\n"
    if fmt == "json":
        if not rows:
            return '{"row_count": 0}\n'
        if justcount:
            return cjson.dumps(cjson.JObject([("row_count", len(rows)), ("rows", [])]), False)
        objects = [
            cjson.JObject((k, v or "") for k, v in zip(columns, row, strict=False)) for row in rows
        ]
        return cjson.dumps(cjson.JObject([("row_count", len(rows)), ("rows", objects)]), False)
    if fmt == "xml":
        if not rows or justcount:
            return f'<result row_count="{len(rows) if justcount else 0}"/>\n'
        body = "".join(
            f'  <row row_id="{n}">\n'
            + "".join(
                f"    <{k}>{escape(v or '')}</{k}>\n" for k, v in zip(columns, row, strict=False)
            )
            + "  </row>\n"
            for n, row in enumerate(rows, 1)
        )
        return f'<result row_count="{len(rows)}">\n{body}</result>\n'
    return f"-ERR Cannot find format {as_}\n"
