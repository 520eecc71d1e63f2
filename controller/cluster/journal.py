"""The call journal in Redis, one hash per controller node, taken over when it dies.

``<p>:journal:<node>`` maps call uuid -> entry (``controller.journal.encode_entry``);
``<p>:journal-meta:<node>`` holds what that controller last knew of FreeSWITCH. A
controller's calls run on its own outbound sockets, so each reads only its own
entries at connect (another controller's live calls are not "ended unseen"). When a
node dies its entries move into the taker's hash (one script, only while the dead
node's liveness key is still missing) and the taker's ``Recovery.reconcile`` checks
them: calls gone get their exit/action/hangup callbacks (marked recovered), calls
still up are watched until they end.

A call is reported by one controller only: ``<p>:journal-owner:<uuid>`` names the
controller that last took the call, written when one of its sessions runs the call
(``claim``: a new call, or one handed back by the dialplan's second ``socket`` to
whichever controller the balancer picked) and when it takes over a dead controller's
journal. The take-over moves only the entries the dead controller still owned, and a
taker watching a call drops it as soon as another controller claimed it
(``claimed_elsewhere``), so a call resumed elsewhere is not reported twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis

from controller.cluster.shared import Shared
from controller.journal import CallJournal, JournalEntry, decode_entry, encode_entry

log = logging.getLogger(__name__)

OWNER_KEY_SECONDS = 86400  # outlives any call; a leftover one expires

# KEYS: journal:<me>; ARGV: key prefix, me, owner key seconds, dead node ids... -> how
# many entries moved. An entry another controller claimed since is its (left out).
_TAKE = """
local moved = 0
for i = 4, #ARGV do
  local node = ARGV[i]
  if node ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. ':node:' .. node) == 0 then
    local theirs = ARGV[1] .. ':journal:' .. node
    local entries = redis.call('HGETALL', theirs)
    for j = 1, #entries, 2 do
      local owner_key = ARGV[1] .. ':journal-owner:' .. entries[j]
      local owner = redis.call('GET', owner_key)
      if not owner or owner == node then
        redis.call('HSET', KEYS[1], entries[j], entries[j + 1])
        redis.call('SET', owner_key, ARGV[2], 'EX', ARGV[3])
        moved = moved + 1
      end
    end
    redis.call('DEL', theirs, ARGV[1] .. ':journal-meta:' .. node)
  end
end
return moved
"""


class RedisJournal(CallJournal):
    def __init__(self, shared: Shared):
        self.shared = shared
        self._calls = shared.key("journal", shared.node_id)
        self._meta = shared.key("journal-meta", shared.node_id)
        self._take = shared.redis.register_script(_TAKE)

    def _write(self, what: str, action: object, *args: object) -> None:
        try:
            action(*args)  # type: ignore[operator]
        except redis.RedisError as exc:  # a call must not stop because Redis hiccuped
            log.error("journal: cannot %s in Redis (%s); a call ending while no controller "
                      "sees it may not be reported", what, exc)

    def put(self, entry: JournalEntry) -> None:
        self._write("record call " + entry.uuid, self.shared.redis.hset, self._calls,
                    entry.uuid, encode_entry(entry))

    def remove(self, uuid: str) -> None:
        self._write("forget call " + uuid, self.shared.redis.hdel, self._calls, uuid)

    def entries(self) -> list[JournalEntry]:
        found = []
        for uuid, text in self.shared.redis.hgetall(self._calls).items():
            try:
                found.append(decode_entry(text))
            except ValueError as exc:
                log.error("journal: entry of call %s unreadable (%s); its end cannot be "
                          "reported", uuid.decode(errors="replace"), exc)
        return found

    def get_meta(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.shared.redis.hgetall(self._meta).items()}

    def _owner_key(self, uuid: str) -> str:
        return self.shared.key("journal-owner", uuid)

    def claim(self, uuid: str) -> None:
        self._write("claim call " + uuid, self.shared.redis.set, self._owner_key(uuid),
                    self.shared.node_id, OWNER_KEY_SECONDS)

    def claimed_elsewhere(self, uuid: str) -> bool:
        try:
            owner = self.shared.redis.get(self._owner_key(uuid))
        except redis.RedisError as exc:
            log.warning("journal: cannot tell who runs call %s (%s): reporting it here (it "
                        "may be reported twice)", uuid, exc)
            return False
        return owner is not None and owner.decode() != self.shared.node_id

    def put_meta(self, key: str, value: str) -> None:
        self._write("record " + key, self.shared.redis.hset, self._meta, key, value)

    def take_over(self, dead_nodes: Iterable[str]) -> int:
        """Move the entries of these dead nodes into this node's journal; how many."""
        dead = list(dead_nodes)
        if not dead:
            return 0
        moved = int(self._take(keys=[self._calls],
                               args=[self.shared.prefix, self.shared.node_id,
                                     OWNER_KEY_SECONDS, *dead]))
        if moved:
            log.warning("journal: took over %d call(s) of dead controller(s) %s",
                        moved, ", ".join(dead))
        return moved
