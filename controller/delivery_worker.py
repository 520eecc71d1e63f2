"""A delivery worker process: attempts the callbacks its controller hands over.

Started by ``controller.delivery_processes`` as ``python -m controller.delivery_worker``
with one end of a socketpair (its descriptor in ``CC_DELIVERY_SOCKET_FD``). The
first message carries the controller's settings; the worker builds the same
webhooks layer (HTTP pools, timeouts, retry policy, each face's signer) and
answers "ready" with the signers it has. Then each "send" message is one
delivery, attempted in its own greenlet with the callback retry policy, and
answered "done" with its outcome. The controller keeps the outbox, the lanes'
order and everything else. End of stream on the socket (the controller stopped
or died) ends the worker once the attempts in hand are answered or abandoned.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402 - after monkey-patching, as every gevent program
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402

from controller.delivery_processes import (  # noqa: E402
    SOCKET_FD_ENV,
    MessageWriter,
    Outcome,
    messages,
)
from controller.logs import log_context, setup_logging  # noqa: E402
from controller.outbox import Delivery  # noqa: E402

log = logging.getLogger("controller.delivery_worker")


class Worker:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.webhooks: Any = None
        self.writer = MessageWriter(sock)
        self._attempts = gevent.pool.Group()

    def _answer(self, message: Any) -> None:
        try:
            self.writer.put(message)
        except OSError:
            pass  # the controller is gone: nobody reads the answer (the reader ends too)

    def _configure(self, settings: Any, log_level: str) -> None:
        from controller.notify import dialect_signers
        from controller.webhooks import Webhooks

        setup_logging(log_level)
        self.webhooks = Webhooks(settings.webhooks, signers=dialect_signers(settings))
        self._answer(("ready", sorted(self.webhooks.signers)))

    def _attempt(self, request_id: int, fields: dict[str, Any]) -> None:
        from controller.webhooks import WebhookError

        delivery = Delivery(**fields)
        before = delivery.attempts
        try:
            with log_context(**delivery.context):
                result = self.webhooks.attempt_here(delivery)
        except WebhookError as exc:
            outcome = Outcome(delivery.attempts - before, delivery.retries,
                              error=(exc.reason, exc.status))
        except Exception as exc:  # noqa: BLE001 - reported to the controller, which logs it
            log.exception("delivery worker: callback %d to %s failed", delivery.id,
                          delivery.url)
            outcome = Outcome(delivery.attempts - before, delivery.retries,
                              error=(repr(exc), None), bug=True)
        else:
            body = result.body if delivery.reply else b""  # only a reply handler reads it
            outcome = Outcome(delivery.attempts - before, delivery.retries,
                              result=(result.status, result.url, result.content_type, body))
        self._answer(("done", request_id, outcome))

    def run(self) -> int:
        for message in messages(self.sock):
            kind = message[0]
            if kind == "settings":
                self._configure(message[1], message[2])
            elif kind == "send":
                self._attempts.spawn(self._attempt, message[1], message[2])
        # The controller is gone or stopping: nobody will read what is still in flight.
        self._attempts.kill(block=True, timeout=1)
        if self.webhooks is not None:
            self.webhooks.http.close()
        return 0


def main() -> int:
    # Our lifetime is the controller's: we exit when its socket closes, after it has
    # flushed its callbacks. A Ctrl-C or a service manager's SIGTERM to the whole process
    # group must not end us before the controller's graceful stop has used us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raw = os.environ.get(SOCKET_FD_ENV, "")
    if not raw.isdigit():
        print(f"{SOCKET_FD_ENV} is not set: this process is started by the controller "
              "([webhooks] delivery_processes)", file=sys.stderr)
        return 2
    return Worker(socket.socket(fileno=int(raw))).run()


if __name__ == "__main__":
    sys.exit(main())
