"""Only controller/freeswitch/ spells FreeSWITCH commands (issue 10, item 3's "done when").

Every string literal of the product's modules (f-string pieces included, docstrings
excluded) is checked for the start of an API command: ``conference ``, ``uuid_*``,
``sched_*``, ``originate``, ``api ``. The simulator (it answers commands), the
command layer itself, the Event Socket layer and the test plugin are excepted.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

CONTROLLER = Path(__file__).resolve().parents[2] / "controller"
EXCEPTED = ("sim", "freeswitch", "testing", "esl")
# mod_conference's subcommands (conference_api.c: conference_api_sub_commands) and the
# global ones (07g): "conference <room> <subcommand>" or "conference <global word>".
SUBCOMMANDS = (
    "kick|hup|mute|tmute|unmute|vmute|unvmute|deaf|undeaf|hold|unhold|play|stop|record|"
    "norecord|recording|pause|resume|chkrecord|setvar|getvar|set|get|lock|unlock|relate|"
    "json_list|xml_list|list|count|dtmf|moh|say|saymember|transfer|dial|bgdial|energy|"
    "volume_in|volume_out|floor|enforce_floor|pin|nopin|file_seek|position|vid-[a-z-]+|"
    "exit_sound|enter_sound|auto-3d-position|canvas|layer|watching-canvas|file-vol|agc"
)
ANY = r"(\{\}|\S+)"  # a word, or a value an f-string puts there
COMMAND = re.compile(
    rf"^\s*(conference ({ANY} ({SUBCOMMANDS})\b|(json_list|xml_list|list|count|help)\b|$)"
    rf"|uuid_[a-z_]+( |$)|sched_(api|hangup|transfer|broadcast|del)( |$)"
    rf"|originate( \{{| \S*/|$)|(bg)?api ({ANY}))"
)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _template(node: ast.JoinedStr) -> str:
    """An f-string with each formatted value as ``{}``."""
    return "".join(part.value if isinstance(part, ast.Constant) else "{}"
                   for part in node.values)


def command_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every literal that starts like a FreeSWITCH API command."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in node.values)
            if COMMAND.match(_template(node)):
                found.append((node.lineno, _template(node)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in skip and COMMAND.match(node.value):
            found.append((node.lineno, node.value))
    return sorted(found)


def product_modules() -> list[Path]:
    return [path for path in sorted(CONTROLLER.rglob("*.py"))
            if path.relative_to(CONTROLLER).parts[0] not in EXCEPTED]


def test_the_scanner_finds_each_kind_of_command_literal():
    source = '''
"""conference list in a docstring is prose."""
def f(room, uuid):
    """uuid_kill in a docstring too."""
    a = f"conference {room} kick all"
    b = "uuid_kill " + uuid
    c = f"sched_api +3 none {a}"
    d = "originate {origination_uuid=1}sofia/gateway/gw/1000 &park"
    e = "api status"
    g = "conference "
    fine = ("the conference is full", f"conference {room} is not being recorded", "api",
            "originate answered", "conference webhook 3: cannot tell")
'''
    assert [line for line, _ in command_literals(source)] == [5, 6, 7, 8, 9, 10]


def test_no_freeswitch_command_string_outside_the_command_layer():
    modules = product_modules()
    assert any(path.name == "call.py" for path in modules)  # the scan sees the engine
    offenders = [f"{path.relative_to(CONTROLLER.parent)}:{line}: {text!r}"
                 for path in modules for line, text in command_literals(path.read_text())]
    assert not offenders, "FreeSWITCH commands built outside controller/freeswitch/:\n" + \
        "\n".join(offenders)
