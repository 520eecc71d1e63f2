"""The room directory: which FreeSWITCH node hosts each room (DESIGN.md §10).

``<p>:room:<fs_room>`` -> node name (``host:port`` of its Event Socket), set with
SET NX: the first controller to place a room on a node makes that node the room's
home, and every later claim (any controller, any node) reads the same answer, so
a room never spans nodes. ``<p>:rooms-on:<node>`` lists a node's rooms so a node
that died can release them all. An entry goes when the room ends (mod_conference's
``conference-destroy``, seen by the controllers connected to that node); a release
names the node, so a late destroy from an old home never removes a newer entry.
"""

from __future__ import annotations

from controller.cluster.shared import Shared

# KEYS: room, rooms-on:<node>; ARGV: node -> the home (this node if the claim won).
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SADD', KEYS[2], KEYS[1])
  return ARGV[1]
end
return redis.call('GET', KEYS[1])
"""

# KEYS: room, rooms-on:<node>; ARGV: node -> 1 if removed.
_RELEASE = """
redis.call('SREM', KEYS[2], KEYS[1])
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# KEYS: rooms-on:<node>; ARGV: node -> how many rooms released.
_RELEASE_NODE = """
local released = 0
for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('GET', room) == ARGV[1] then
    redis.call('DEL', room)
    released = released + 1
  end
end
redis.call('DEL', KEYS[1])
return released
"""


class RoomDirectory:
    def __init__(self, shared: Shared):
        self.shared = shared
        self._claim = shared.redis.register_script(_CLAIM)
        self._release = shared.redis.register_script(_RELEASE)
        self._release_node = shared.redis.register_script(_RELEASE_NODE)

    def _room(self, fs_room: str) -> str:
        return self.shared.key("room", fs_room)

    def _on(self, node: str) -> str:
        return self.shared.key("rooms-on", node)

    def claim(self, fs_room: str, node: str) -> str:
        """Make ``node`` the room's home unless it has one; returns the home."""
        home = self._claim(keys=[self._room(fs_room), self._on(node)], args=[node])
        return home.decode() if isinstance(home, bytes) else str(home)

    def home(self, fs_room: str) -> str | None:
        found = self.shared.redis.get(self._room(fs_room))
        return found.decode() if found is not None else None

    def release(self, fs_room: str, node: str) -> bool:
        """The room ended on ``node``: forget it, unless another node is its home now."""
        return bool(self._release(keys=[self._room(fs_room), self._on(node)], args=[node]))

    def release_node(self, node: str) -> int:
        """A node died: every room it hosted is homeless (the next caller's node wins)."""
        return int(self._release_node(keys=[self._on(node)], args=[node]))
