"""Scale-out on Redis (DESIGN.md §10): the stores several controllers share.

Used only when ``[cluster] redis_url`` is set; a single node keeps the embedded
stores (SQLite outbox and journal, in-memory idempotency keys) and never imports
``redis``.

- ``shared``: the connection, key names and this controller's liveness key.
- ``outbox``: ``RedisOutbox`` (``controller.outbox.OutboxStore``): a dead controller's
  deliveries are claimed and sent by a live one.
- ``journal``: ``RedisJournal`` (``controller.journal.CallJournal``), taken over the same way.
- ``idempotency``: Idempotency-Key answers shared by every controller's REST API.
- ``directory``: the room directory (which FreeSWITCH node hosts a room; first writer wins).
- ``calls``: which controller runs each call (the REST API forwards a call's requests there).
- ``commands``: the Telnyx face's ``command_id`` answers.
- ``moves``: a caller on another node is moved to its room's home node before it joins
  (``codec``: the Conference verb it takes along, as JSON).
- ``takeover``: the greenlet that keeps this controller alive in Redis and takes over
  what dead controllers left.
"""
