"""A room lives on one node: a caller whose call is on another node is moved there
before it joins (DESIGN.md §10, README "Running a cluster").

On the call's own controller (``RoomMover.move``, called by the Conference verb before
it plans its join): the room's home is claimed in the room directory for the call's
node (SET NX: the first caller's node wins, so two first callers on two nodes still meet
on one). When the home is another node, the Conference verb is written to Redis under
``<p>:move:<call uuid>`` and the call is bridged to ``cc-room-<room>`` at the home
node's SIP address (``[cluster] node_sip_addresses``;
``controller.freeswitch.cluster.move_to_room``), its uuid, call id and room in
``X-CC-*`` SIP headers. The home node's ``cluster`` context (freeswitch-conf/dialplan/
cluster.xml, reached only from the cluster's addresses: the ``cluster_nodes`` ACL of
the SIP profile) hands that leg to a controller with the dialplan's ``socket`` step.

On that controller (``RoomMover.arrived``, called for a connect carrying
``variable_sip_h_X-CC-Move``): the leg runs the stored Conference verb under the moved
call's own facts (uuid, call id, dialect, tag), so its member callbacks reach the
application as the caller's, and sets the leg's ``call_uuid`` to the caller's uuid, so
the room-level events built from the leg's conference events (by any controller) name
the caller too (controller.conference.rooms); it writes the member it was (``member``,
``left``) back to the record when it leaves the room, waits for its exit callback, and
hangs up.

The bridge then returns on the caller's controller (the caller stays up: no
``hangup_after_bridge``), which requests the action URL with that member and goes on
with its document, or, when the caller hung up (which ended the far leg with it),
sends the action and hangup requests once, as for a call that never moved.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any

import gevent
import redis

from controller import dialects
from controller.cluster import codec
from controller.cluster.directory import RoomDirectory
from controller.cluster.shared import ClusterError, Shared
from controller.conference.events import CallFacts, MemberFacts
from controller.config import Settings
from controller.esl import CallerGone, EslError
from controller.freeswitch import apps
from controller.freeswitch import channel as fschannel
from controller.freeswitch.cluster import MOVE_VARIABLE, move_to_room, name_moved_call
from controller.freeswitch.names import fs_room_name
from controller.logs import log_context
from controller.model import ConferenceJoin, Document
from controller.resume import RESUME_VARIABLE, decode_resume

if TYPE_CHECKING:
    from controller.call import CallSession

log = logging.getLogger(__name__)

MOVE_KEY_SECONDS = 86400  # a move record outlives any call; a leftover one expires
ARRIVAL_SECONDS = 10.0  # after the bridge: how long the far leg's record may take to land
POLL_SECONDS = 0.05


@dataclasses.dataclass(frozen=True)
class Move:
    """What the home node's controller needs to run the moved call's Conference verb."""

    facts: CallFacts
    dialect: str
    join: ConferenceJoin
    tag: str | None = None


class MoveStore:
    """``<p>:move:<call uuid>``: a hash with the Move (``facts``, ``dialect``, ``join``,
    ``tag``), then ``arrived`` and ``member``/``left`` written by the home node's
    controller."""

    def __init__(self, shared: Shared):
        self.shared = shared

    def _key(self, call_uuid: str) -> str:
        return self.shared.key("move", call_uuid)

    def put(self, call_uuid: str, move: Move) -> None:
        key = self._key(call_uuid)
        pipe = self.shared.redis.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping={"facts": codec.dumps(move.facts), "dialect": move.dialect,
                                "join": codec.dumps(move.join), "tag": codec.dumps(move.tag)})
        pipe.expire(key, MOVE_KEY_SECONDS)
        pipe.execute()

    def load(self, call_uuid: str) -> Move | None:
        facts, dialect, join, tag = self.shared.redis.hmget(
            self._key(call_uuid), "facts", "dialect", "join", "tag")
        if facts is None or dialect is None or join is None:
            return None
        move = Move(codec.loads(facts), dialect.decode(), codec.loads(join),
                    codec.loads(tag) if tag is not None else None)
        if not isinstance(move.facts, CallFacts) or not isinstance(move.join, ConferenceJoin):
            raise codec.CodecError(f"the move record of {call_uuid} is not a call's join")
        return move

    def mark_arrived(self, call_uuid: str) -> None:
        self.shared.redis.hset(self._key(call_uuid), "arrived", "1")

    def mark_left(self, call_uuid: str, member: MemberFacts | None) -> None:
        self.shared.redis.hset(self._key(call_uuid), mapping={
            "member": codec.dumps(member), "left": "1"})

    def outcome(self, call_uuid: str) -> tuple[bool, bool, MemberFacts | None]:
        """(arrived, left, the member it was in the room; None: it never got in)."""
        arrived, left, member = self.shared.redis.hmget(
            self._key(call_uuid), "arrived", "left", "member")
        return (arrived is not None, left is not None,
                codec.loads(member) if member is not None else None)

    def delete(self, call_uuid: str) -> None:
        self.shared.redis.delete(self._key(call_uuid))


class RoomMover:
    def __init__(self, settings: Settings, shared: Shared, directory: RoomDirectory,
                 this_node: str):
        cluster = settings.cluster
        self.store = MoveStore(shared)
        self.directory = directory
        self.this_node = this_node
        self.room_prefix = settings.freeswitch.room_prefix
        self.profile = cluster.move_profile
        self.addresses = dict(cluster.node_sip_addresses)
        nodes = [f"{host}:{port}" for host, port, _ in settings.freeswitch.node_list()]
        unknown = sorted(set(self.addresses) - set(nodes))
        if unknown:
            raise ClusterError(
                f"cluster.node_sip_addresses names {', '.join(unknown)}, not a node of "
                f"[freeswitch] nodes ({', '.join(nodes)}); name each node as host:port of "
                "its Event Socket, exactly as listed there")
        missing = [node for node in nodes if node not in self.addresses]
        if missing:
            raise ClusterError(
                f"cluster.node_sip_addresses has no SIP address for {', '.join(missing)}: "
                "every node needs one, or callers on it could not be moved to their room")
        self.esl: Any = None  # the service's Event Socket (a NodeSet with several nodes)

    # ------------------------------------------------------------ the caller's side
    def node_of_call(self, call_uuid: str) -> str:
        """The node holding the call: where its events came from, else the node that
        answers ``uuid_exists`` true (``controller.esl.nodes.NodeSet``)."""
        node_for = getattr(self.esl, "node_for", None)
        if node_for is None:
            return self.this_node
        return node_for(fschannel.uuid_exists(call_uuid))[0]

    def move(self, call: CallSession, join: ConferenceJoin) -> tuple[bool, Document | None]:
        """Before a join: (False, None) to join here; (True, document) when the call was
        moved to the room's home node and has left the room there (``document``: the
        action's, or None to go on with the next verb)."""
        try:
            fs_room = fs_room_name(join.room, self.room_prefix)
        except ValueError:
            return False, None  # the join reports the bad name itself
        node = self.node_of_call(call.uuid)
        try:
            home = self.directory.claim(fs_room, node)
        except redis.RedisError as exc:
            log.error("cluster: room directory unreachable (%s): joining %s on this call's "
                      "node %s", exc, fs_room, node)
            return False, None
        if home == node:
            return False, None
        address = self.addresses.get(home)
        if address is None:
            log.error("cluster: room %s lives on %s, which has no SIP address in "
                      "cluster.node_sip_addresses: joining on %s (the room spans two nodes)",
                      fs_room, home, node)
            return False, None
        try:
            self.store.put(call.uuid, Move(call.facts, call.dialect.name, join, call.tag))
        except redis.RedisError as exc:
            log.error("cluster: cannot record the move (%s): joining %s here", exc, fs_room)
            return False, None
        log.info("room %s lives on node %s: moving the call there (%s)", fs_room, home,
                 address)
        return self._bridged(call, join, fs_room, address)

    def _bridged(self, call: CallSession, join: ConferenceJoin, fs_room: str,
                 address: str) -> tuple[bool, Document | None]:
        from controller.conference.member import after_room

        # A move that fails must not end the call (a failed bridge hangs the caller up
        # unless continue_on_fail: src/switch_channel.c switch_channel_handle_cause).
        call._start(apps.set_var("continue_on_fail", "true"))
        bridge = move_to_room(call.uuid, call.call_id, fs_room, self.profile, address)
        gone = False
        try:
            call.wait_bridged(call._start(bridge), "in a room on another node")
        except CallerGone:
            gone = True
        arrived, member = self._outcome(call.uuid, gone)
        if not arrived:
            self._forget(call.uuid)
            if gone:
                raise CallerGone("the caller hung up while being moved")
            log.error("the move to %s failed (%s): joining %s on this node instead (the room "
                      "spans two nodes)", address,
                      self._variable(call, "originate_failed_cause") or "no answer", fs_room)
            return False, None
        self._forget(call.uuid)
        log.info("back from room %s on the node at %s", fs_room, address)
        document = None
        if member is not None:
            document = after_room(call, join, member, None)
        if gone:
            raise CallerGone("the caller hung up in a room on another node")
        return True, document

    def _outcome(self, call_uuid: str, gone: bool) -> tuple[bool, MemberFacts | None]:
        """Whether the far leg reached a controller, and the member it was. The far side
        writes it before it hangs up its leg, so after a bridge it ended it is there at
        once; a caller who hung up ends the far leg at the same moment, so then it may
        lag a little (``ARRIVAL_SECONDS`` at most)."""
        deadline = time.monotonic() + ARRIVAL_SECONDS
        while True:
            try:
                arrived, left, member = self.store.outcome(call_uuid)
            except (redis.RedisError, codec.CodecError) as exc:
                log.error("cluster: cannot read the move record (%s)", exc)
                return False, None
            if left or (not arrived and not gone) or time.monotonic() > deadline:
                return arrived, member
            gevent.sleep(POLL_SECONDS)

    def _forget(self, call_uuid: str) -> None:
        try:
            self.store.delete(call_uuid)
        except redis.RedisError as exc:
            log.warning("cluster: move record of %s stays until it expires (%s)", call_uuid,
                        exc)

    @staticmethod
    def _variable(call: CallSession, name: str) -> str:
        try:
            reply = call.session.api(fschannel.uuid_getvar(call.uuid, name)).strip()
        except (EslError, CallerGone):
            return ""
        return "" if reply.startswith("-ERR") or reply == "_undef_" else reply

    # ------------------------------------------------------------ the home node's side
    def arrived(self, call: CallSession, fields: Any) -> None:
        """A leg bridged here by another node's controller: run the moved call's
        Conference verb on it, as that call."""
        from controller.call import LINGER_SECONDS, SESSION_EVENTS
        from controller.conference.member import ConferenceMember

        moved_uuid = fields.get(f"variable_{MOVE_VARIABLE}", "")
        try:
            move = self.store.load(moved_uuid)
        except (redis.RedisError, codec.CodecError) as exc:
            log.error("cluster: cannot read the move record of %s (%s)", moved_uuid, exc)
            move = None
        if move is None:
            log.error("a leg for a move of %r that the cluster does not know (expired, or "
                      "not sent by a cluster node): rejecting it", moved_uuid)
            call.session.hangup("CALL_REJECTED")
            return
        call.facts, call.dialect, call.tag = move.facts, dialects.get(move.dialect), move.tag
        call.reports_end = False  # the call's own controller reports its end
        if call.engine.recovery is not None:
            call.engine.recovery.claim(call.uuid)  # back from the second socket: ours again
        # Not in the call registry: the caller's controller runs the call, and REST
        # requests for it (hang-up...) must reach that one (controller.cluster.calls).
        member = None
        facts: MemberFacts | None = None
        with log_context(call_uuid=move.facts.uuid):
            log.info("leg %s: call %s moved here to join %s", call.uuid, move.facts.uuid,
                     move.join.room)
            try:
                self.store.mark_arrived(moved_uuid)
                call.session.prepare(LINGER_SECONDS, ["conference::maintenance"],
                                     [*SESSION_EVENTS, *call.dialect.session_events])
                # Room-level events (reported by whichever controller sees them first)
                # name the member's call from the event itself: the moved call, not this
                # leg (controller.conference.rooms._call_uuid).
                call._start(name_moved_call(move.facts.uuid))
                resume = fields.get(f"variable_{RESUME_VARIABLE}")
                if resume:
                    # Back through the dialplan's second socket: the leg's controller was
                    # lost while it was in the room and it has left since.
                    facts = self._resumed(call, resume)
                else:
                    call.answer()
                    # The action is requested by the caller's controller, which goes on
                    # with the call's document afterwards.
                    member = ConferenceMember(call, dataclasses.replace(move.join,
                                                                        action=None))
                    member.run()
            except CallerGone:
                log.info("the moved call hung up")
            except (EslError, redis.RedisError) as exc:
                log.error("moved call failed here: %s", exc)
            except Exception:  # a bug of ours: this leg ends, others go on
                log.exception("moved call failed on an internal error")
            finally:
                if member is not None:
                    facts = member.member
                try:
                    self.store.mark_left(moved_uuid, facts)
                except redis.RedisError as exc:
                    log.error("cluster: cannot tell the call's controller how the room stay "
                              "ended (%s)", exc)
                # The exit callback before the caller's controller sends the action.
                call.engine.webhooks.wait_lane(
                    call.lane, timeout=call.settings.webhooks.read_timeout)
                call.engine.journal.remove(call.uuid)
                if not call.session.hungup.is_set():
                    try:
                        call.session.hangup("NORMAL_CLEARING")
                    except (EslError, CallerGone):
                        pass
                call.session.ended.wait(timeout=5)

    @staticmethod
    def _resumed(call: CallSession, value: str) -> MemberFacts | None:
        """The member's exit, as ``resume_member`` reports it (its action was left to the
        caller's controller); the member it was, for that controller."""
        from controller.conference.member import resume_member

        try:
            state = decode_resume(value)
        except ValueError as exc:
            log.error("cannot resume the moved leg: %s", exc)
            return None
        call.answered = True
        call._start(apps.unset_var(RESUME_VARIABLE))
        resume_member(call, state)
        fields = call.session.channel
        return MemberFacts(state.room, fields.get("variable_conference_uuid", ""),
                           fields.get("variable_conference_member_id", ""), call.facts.uuid)
