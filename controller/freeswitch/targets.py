"""Which FreeSWITCH object an API command acts on, so a controller connected to several
nodes sends it to the node that holds that object (controller.esl.nodes). Pure.

The forms read here are the ones this package writes:

- ``conference <room> <subcommand> ...``: mod_conference's API takes the room name as
  its first argument (src/mod/applications/mod_conference/mod_conference.c,
  conference_api_main: ``argv[0]`` is looked up with conference_find); ``conference
  json_list`` without a room lists every room of the node.
- ``uuid_<name> <uuid> ...``: every uuid_* API of mod_commands takes the channel uuid
  as its first argument (src/mod/applications/mod_commands/mod_commands.c, e.g.
  uuid_kill_function, uuid_exists_function: ``argv[0]`` is the uuid).
"""

from __future__ import annotations

from dataclasses import dataclass

# The listing of every room asked of every node (its JSON arrays are joined).
_NODE_LISTINGS = frozenset({"json_list"})


@dataclass(frozen=True)
class Target:
    kind: str  # "room", "channel", "every_room" (a listing of each node), "node" (any)
    name: str = ""


def target_of(command: str) -> Target:
    words = command.split(maxsplit=2)
    if not words:
        return Target("node")
    if words[0] == "conference" and len(words) >= 2:
        if words[1] in _NODE_LISTINGS:
            return Target("every_room")
        return Target("room", words[1])
    if words[0].startswith("uuid_") and len(words) >= 2:
        return Target("channel", words[1])
    return Target("node")
