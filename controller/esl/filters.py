"""Which event filters the shared inbound connection needs, and the commands that get a
connection from the filters it has to those (pure: no I/O; ``controller.esl.inbound``
sends them).

Why: the inbound connection is subscribed to conference::maintenance for the room
manager and the recovery, so it receives every room's events, including the noisy ones
only a member's own socket needs: ``digits-match`` (one ~7 KB event per press of a
bound digit: the member's socket gets its own copy) and ``start-talking`` /
``stop-talking`` (two per speech spurt of every member). A negative filter keeps them
in FreeSWITCH while no consumer of the inbound connection wants them.

FreeSWITCH's rules (src/mod/event_handlers/mod_event_socket/mod_event_socket.c,
signalwire/freeswitch master cc93a68, function ``event_handler`` from line 274, and
``parse_command``'s ``filter`` branch from line 1961):

- a listener with any filter sends an event only if a filter lets it: ``send = 0``
  (line 328) once ``l->filters && l->filters->headers`` (line 324). So the moment one
  filter exists, every subscribed event needs a positive filter that matches it: here
  ``Event-Name <name>`` per subscribed event, ``Event-Subclass <subclass>`` per CUSTOM
  subclass (BACKGROUND_JOB and HEARTBEAT included: ``bgapi`` and the liveness check
  depend on them);
- a filter whose value starts with ``-`` is negative: when it matches, ``send = 0`` and
  the loop ends (lines 360-366), whatever positive filter matched before; positive
  filters are skipped once one matched (line 346). So the outcome does not depend on
  the filters' order: an event passes when a positive filter matches it and no
  negative one does;
- only a value whose first character is ``/`` is a regular expression (line 354 tests
  the raw value, ``*hp->value == '/'``): a negative filter (first character ``-``) is
  always a case-insensitive comparison (``strcasecmp``, line 357), so each dropped
  Action is a filter of its own;
- ``filter <header> <value>`` appends a filter (parse_command, line 1999,
  SWITCH_STACK_BOTTOM, duplicates kept: EF_UNIQ_HEADERS is cleared on the filter
  event), ``filter delete <header> <value>`` removes that pair (line 1989,
  switch_event_del_header_val: same name, same value), ``filter delete all`` removes
  every filter (line 1985). Capture 06b shows the replies: ``+OK filter added.
  [Unique-ID]=[...]``, ``+OK filter deleted. [Unique-ID][...]``.

A listener subscribed to ``ALL`` (a catch-all consumer) gets no filters at all.
"""

from __future__ import annotations

from collections.abc import Iterable

MAINTENANCE = "conference::maintenance"
# conference::maintenance Actions the inbound connection may go without: what only a
# member's own socket needs (see the module's docstring).
NOISY_ACTIONS = ("digits-match", "start-talking", "stop-talking")
DELETE_ALL = "filter delete all"

Filter = tuple[str, str]  # (header, value); a value starting with "-" is negative


def positive_filters(keys: Iterable[str]) -> list[Filter]:
    """A filter letting through each subscribed key: ``Event-Subclass`` for a CUSTOM
    subclass (a key with ``::``, as in ``subscription_command``), else ``Event-Name``."""
    return [("Event-Subclass", key) if "::" in key else ("Event-Name", key)
            for key in sorted(set(keys))]


def dropped_actions(declared: Iterable[frozenset[str] | None]) -> tuple[str, ...]:
    """The noisy Actions no conference::maintenance consumer wants, given what each
    declared (None: it never said, so it gets everything, as before filters existed)."""
    wanted: set[str] = set()
    for actions in declared:
        if actions is None:
            return ()
        wanted.update(actions)
    return tuple(action for action in NOISY_ACTIONS if action not in wanted)


def wanted_filters(keys: Iterable[str], catch_all: bool,
                   dropped: Iterable[str]) -> list[Filter]:
    """Every filter the connection should have: none for a catch-all subscription, else
    the positive filters of ``keys`` and one negative ``Action`` filter per dropped
    Action."""
    if catch_all:
        return []
    return [*positive_filters(keys), *(("Action", f"-{action}") for action in dropped)]


def filter_command(header: str, value: str) -> str:
    return f"filter {header} {value}"


def filter_delete_command(header: str, value: str) -> str:
    return f"filter delete {header} {value}"


def filter_changes(present: list[Filter], wanted: list[Filter]) -> list[str]:
    """The commands taking a connection from the filters it has to the wanted ones.

    Added positive filters come first and removed ones last, so that no moment has a
    subscribed event without its positive filter, nor only negative filters (which
    would drop everything: ``send`` starts at 0). Going to no filters at all is one
    ``filter delete all``."""
    if not wanted:
        return [DELETE_ALL] if present else []
    have, want = set(present), set(wanted)
    added = [f for f in wanted if f not in have]
    removed = [f for f in present if f not in want]
    commands = [filter_command(*f) for f in added if not f[1].startswith("-")]
    commands += [filter_delete_command(*f) for f in removed if f[1].startswith("-")]
    commands += [filter_command(*f) for f in added if f[1].startswith("-")]
    commands += [filter_delete_command(*f) for f in removed if not f[1].startswith("-")]
    return commands
