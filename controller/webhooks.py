"""HTTP to the application: document fetches (answer, action, redirect, sounds) and callbacks.

One pooled keep-alive HTTP client (``controller.http_client``); every request has a
connect and a read timeout. Two retry policies, because the two kinds of
request differ in what a second attempt costs:

- **Callbacks** (``send``) are notifications: connection errors and 5xx are
  retried with exponential backoff, 4xx are not (the application said no).
  Each is written to the durable outbox (``controller.outbox``) before its
  first attempt and removed once answered or finally failed; final failures
  stay in the outbox (``conference-controller outbox list|retry|drop``) and are
  logged with every parameter. Callbacks are queued per key (one member, one
  room) and delivered in order by a lane greenlet, so a slow endpoint never
  blocks a call or an ESL handler.
- **Documents** (``fetch_document``: answer, action, redirect URLs) start or
  steer a call: sent twice, the application sees two calls. Only errors that
  prove the request never left (connection refused, connect timeout) are
  retried; a read timeout, a reset after sending or a 5xx is not. Their read
  timeout is ``[webhooks] fetch_timeout``; a fallback URL is tried before
  giving up.

After ``MAX_REDIRECTS`` redirects the request fails with an error that says it
was a redirect loop; a 3xx answer is never taken as a document.
"""

from __future__ import annotations

import collections
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit, urlunsplit

import gevent
import gevent.event
import gevent.queue
import urllib3

from controller import __version__
from controller.config import WebhookSettings
from controller.delivery_processes import DeliveryProcesses, WorkerLost
from controller.http_client import (
    REDIRECT_STATUSES,
    BodyTooLarge,
    ConnectFailed,
    HttpClient,
    RequestFailed,
    TransportError,
)
from controller.logs import current_log_context, log_context
from controller.metrics import (
    CALLBACK_LATENCY,
    CALLBACKS_FAILED,
    CALLBACKS_RETRIED,
    CALLBACKS_SENT,
)
from controller.model import HttpMethod, Webhook
from controller.outbox import (
    DEFAULT_DIALECT,
    DEFAULT_SIGNER,
    Delivery,
    MemoryOutbox,
    OutboxStore,
)
from controller.signing import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

USER_AGENT = f"conference-controller/{__version__}"
MAX_REDIRECTS = 5
RECOVERED_HEADER = "X-Conference-Recovered"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# A signer adds headers to a request about to be sent: (method, URL as sent, form
# parameters of a POST (empty for GET and raw bodies), raw body) -> headers. Looked up
# by name at every attempt, so a signature with a timestamp is fresh on each retry.
Signer = Callable[[str, str, Mapping[str, str], bytes], Mapping[str, str]]


@dataclass(frozen=True)
class HttpResult:
    status: int
    url: str  # after redirects
    content_type: str
    body: bytes


# A reply handler receives the application's answer to a delivered callback (a delivery
# names its handler, ``Delivery.reply``, so the name survives a restart in the outbox).
ReplyHandler = Callable[["Delivery", HttpResult], None]


class WebhookError(Exception):
    """The application's URL could not give us what we needed."""

    def __init__(self, url: str, reason: str, status: int | None = None):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


class _NotSent(Exception):
    """Internal: the request provably never reached the application."""


# json.dumps with separators= builds a new encoder at every call; one, made once (the
# same text: JSONEncoder's defaults are json.dumps's). Also notify's.
compact_json = json.JSONEncoder(separators=(",", ":")).encode

# What quote_plus leaves as it is: most callback names and values (ids, numbers, UUIDs).
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch


def form_encode(params: Mapping[str, str]) -> str:
    """``urllib.parse.urlencode(params)``, byte for byte, at a third of its cost (a
    callback has a dozen fields, most of them needing no quoting; measured 36 -> 14 us):
    quote_plus runs only on the names and values that need it."""
    parts = []
    for name, value in params.items():
        if type(name) is not str or type(value) is not str:
            return urlencode(params)  # bytes, numbers: urlencode's own rules
        parts.append(f"{name if _UNQUOTED(name) else quote_plus(name)}="
                     f"{value if _UNQUOTED(value) else quote_plus(value)}")
    return "&".join(parts)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, form_encode(params)]))
    return urlunsplit(parts._replace(query=query))


_TRANSPORT_ERRORS = (TransportError,)


def never_sent(exc: BaseException) -> bool:
    """True when the request provably did not reach the application: the TCP
    connection was never made (refused, unreachable, name not found, connect
    timeout). Everything else may have been received and acted upon."""
    return isinstance(exc, ConnectFailed)


def _default_signer(secret: str) -> Signer:
    def signer(method: str, url: str, form: Mapping[str, str], body: bytes) -> Mapping[str, str]:
        return {SIGNATURE_HEADER: sign(secret, url, form)} if secret else {}

    return signer


class Webhooks:
    def __init__(self, settings: WebhookSettings, outbox: OutboxStore | None = None,
                 signers: Mapping[str, Signer] | None = None):
        self.settings = settings
        self.http = HttpClient(settings.connect_timeout, settings.pool_size, USER_AGENT)
        self.outbox: OutboxStore = outbox or MemoryOutbox()
        self.signers: dict[str, Signer] = {DEFAULT_SIGNER: _default_signer(settings.signing_secret)}
        self.signers.update(signers or {})
        self.reply_handlers: dict[str, ReplyHandler] = {}
        # A lane: the deliveries waiting behind the one being sent, drained by one greenlet
        # that ends when the lane is empty (a member's lane lives as long as its burst).
        # Its "done" event is made only when someone waits for it (wait_lane): most lanes
        # are one callback long, and the event was a third of a lane's cost.
        self._lanes: dict[str, collections.deque[tuple[Delivery, bool]]] = {}
        self._lane_done: dict[str, gevent.event.Event] = {}
        self._idle = gevent.event.Event()
        self._idle.set()
        self.failed: collections.deque[Delivery] = collections.deque(maxlen=1000)
        self._dialect_metrics: dict[str, tuple[Any, Any]] = {}
        # Worker processes making callback attempts (None: all in this process).
        self.processes: DeliveryProcesses | None = None
        self.delivered = 0
        self.retried = 0

    def use_outbox(self, outbox: OutboxStore) -> int:
        """Switch to a durable store (service start, before any call) and send again
        what a previous run left in it; returns how many."""
        self.outbox = outbox
        return self.resend_pending()

    # ------------------------------------------------------------ one request
    def _send_once(self, method: str, url: str, *, form: Mapping[str, str] | None = None,
                   body: bytes | None = None, content_type: str = "",
                   headers: Mapping[str, str] | None = None, signer: str = DEFAULT_SIGNER,
                   timeout: float | None = None, max_bytes: int | None = None,
                   pool: str = "callbacks") -> HttpResult:
        sent_headers = dict(headers or {})
        signed: Mapping[str, str] = {}
        payload: bytes | None = body
        if form is not None:
            if method == "GET":
                url, payload = _with_query(url, form), None
            else:
                payload, signed = form_encode(form).encode(), form
                sent_headers["Content-Type"] = FORM
        elif content_type:
            sent_headers["Content-Type"] = content_type
        sign_with = self.signers.get(signer)
        if sign_with is None:
            raise WebhookError(url, f"no signer named {signer!r} (known: "
                                    f"{', '.join(sorted(self.signers))})")
        sent_headers.update(sign_with(method, url, signed, payload or b""))
        try:
            response = self.http.request(
                method, url, body=payload, headers=sent_headers,
                read_timeout=timeout or self.settings.read_timeout, max_bytes=max_bytes,
                max_redirects=MAX_REDIRECTS, pool=pool)  # our retries are above, with backoff
        except BodyTooLarge as exc:
            raise WebhookError(url, str(exc)) from None
        except ValueError as exc:  # not an http(s) URL
            raise WebhookError(url, str(exc)) from None
        location = response.headers.get("Location")
        if response.status in REDIRECT_STATUSES and location:
            # the client hands back the last 3xx once the redirects are used up
            raise WebhookError(url, f"redirect loop: still redirected after {MAX_REDIRECTS} "
                                    f"redirects (HTTP {response.status} to {location})",
                               response.status)
        return HttpResult(response.status, response.url, response.content_type, response.body)

    def request(self, hook: Webhook, params: Mapping[str, str], *,
                max_bytes: int | None = None) -> HttpResult:
        """One notification-like request with retries: connection errors and 5xx are
        retried with backoff, 4xx are not (the application said no). Not for documents
        that start or steer a call: see ``fetch_document``."""
        return self._with_retries(
            hook.url, lambda: self._send_once(
                hook.method.value, hook.url, form={k: str(v) for k, v in params.items()},
                headers=auth_headers(hook), max_bytes=max_bytes))

    def _with_retries(self, url: str, attempt_once: Callable[[], HttpResult],
                      dialect: str = DEFAULT_DIALECT,
                      delivery: Delivery | None = None) -> HttpResult:
        attempts = self.settings.retries + 1
        last = ""
        status = None
        for attempt in range(attempts):
            if attempt:
                self.retried += 1
                if delivery is not None:
                    delivery.retries += 1
                CALLBACKS_RETRIED.labels(dialect).inc()
                gevent.sleep(self.settings.backoff * (2 ** (attempt - 1)))
            try:
                result = attempt_once()
            except _TRANSPORT_ERRORS as exc:
                last = _describe(exc)
                status = None
                continue
            if result.status >= 500:
                last, status = f"HTTP {result.status}", result.status
                continue
            if result.status >= 400:
                raise WebhookError(url, f"HTTP {result.status}", result.status)
            return result
        raise WebhookError(url, f"{last} (after {attempts} attempts)", status)

    # ------------------------------------------------------------ documents
    def fetch_document(self, hook: Webhook, params: Mapping[str, Any], max_bytes: int,
                       fallback: Webhook | None = None, *, signer: str = DEFAULT_SIGNER,
                       as_json: bool = False) -> tuple[bytes, str]:
        """GET/POST a document URL; returns (body, final URL after redirects).

        Sent at most once to each URL as far as the application can tell: only a
        connection that was never made is tried again. When ``hook`` fails (any
        reason) and ``fallback`` (or the hook's own fallback) is set, the fallback
        URL is requested with the same parameters before the error is raised.
        ``signer`` names the signature to add (the call's dialect); ``as_json`` sends the
        parameters as a JSON object (POST) instead of a form."""
        fallback = fallback or getattr(hook, "fallback", None)  # model.Webhook may carry one
        try:
            return self._fetch_once_delivered(hook, params, max_bytes, signer, as_json)
        except WebhookError as primary:
            if fallback is None:
                raise
            log.warning("document URL %s failed (%s): trying the fallback URL %s",
                        hook.url, primary.reason, fallback.url)
            try:
                return self._fetch_once_delivered(fallback, params, max_bytes, signer, as_json)
            except WebhookError as second:
                raise WebhookError(hook.url, f"{primary.reason}; fallback {fallback.url}: "
                                             f"{second.reason}", second.status) from None

    def _fetch_once_delivered(self, hook: Webhook, params: Mapping[str, Any], max_bytes: int,
                              signer: str = DEFAULT_SIGNER,
                              as_json: bool = False) -> tuple[bytes, str]:
        form: dict[str, str] | None = None
        body: bytes | None = None
        if as_json:
            body = compact_json(params).encode()
        else:
            form = {k: str(v) for k, v in params.items()}
        timeout = getattr(hook, "timeout", None) or self.settings.fetch_timeout
        attempts = self.settings.retries + 1
        last = ""
        for attempt in range(attempts):
            if attempt:
                gevent.sleep(self.settings.backoff * (2 ** (attempt - 1)))
            try:
                result = self._send_once(hook.method.value, hook.url, form=form, body=body,
                                         content_type=JSON if as_json else "",
                                         headers=auth_headers(hook), timeout=timeout,
                                         max_bytes=max_bytes, signer=signer,
                                         pool="documents")
            except _TRANSPORT_ERRORS as exc:
                if never_sent(exc):
                    last = _describe(exc)
                    continue  # the application never saw it: safe to try again
                raise WebhookError(hook.url, f"{_describe(exc)} (not sent again: the "
                                             "application may have received it)") from None
            if result.status >= 400:
                raise WebhookError(hook.url, f"HTTP {result.status}", result.status)
            return result.body, result.url
        raise WebhookError(hook.url, f"{last} (after {attempts} attempts)")

    def download(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        """GET a media file; returns (bytes, content type). GETs are safe to repeat."""
        result = self.request(Webhook(url, HttpMethod.GET), {}, max_bytes=max_bytes)
        return result.body, result.content_type

    # ------------------------------------------------------------ callbacks
    def send(self, hook: Webhook, params: Mapping[str, str], key: str, *,
             recovered: bool = False, dialect: str = DEFAULT_DIALECT) -> Delivery:
        """Queue a form-encoded callback; callbacks with the same key are delivered in
        order. ``recovered``: sent on behalf of a call that ended while this controller
        was not running (the request carries ``X-Conference-Recovered: true``)."""
        return self.enqueue(Delivery(
            method=hook.method.value, url=hook.url, lane=key,
            form={k: str(v) for k, v in params.items()}, headers=auth_headers(hook),
            dialect=dialect, recovered=recovered,
        ))

    def enqueue(self, delivery: Delivery) -> Delivery:
        """Queue any request (form or raw body, headers, signer by name): written to the
        outbox, then attempted in its lane's order."""
        if not delivery.context:
            delivery.context = current_log_context()
        self.outbox.add(delivery)
        self._to_lane(delivery)
        return delivery

    def resend_pending(self) -> int:
        """Queue again what the outbox holds as pending (left by a previous run), each
        lane in its original order. Call before any new callback is sent."""
        pending = self.outbox.load("pending")
        for delivery in pending:
            self._to_lane(delivery, resent=True)
        if pending:
            log.warning("outbox: sending again %d callback(s) a previous run left undelivered "
                        "(some may have reached the application before it stopped)",
                        len(pending))
        return len(pending)

    def _to_lane(self, delivery: Delivery, resent: bool = False) -> None:
        key = delivery.lane
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = collections.deque()
            self._idle.clear()
            gevent.spawn(self._run_lane, key, lane)
        lane.append((delivery, resent))

    def _run_lane(self, key: str, lane: collections.deque[tuple[Delivery, bool]]) -> None:
        try:
            while lane:
                delivery, resent = lane.popleft()
                with log_context(**delivery.context):
                    self._deliver(delivery, resent)
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]
                done = self._lane_done.pop(key, None)
                if done is not None:
                    done.set()
            if not self._lanes:
                self._idle.set()

    def attempt(self, delivery: Delivery) -> HttpResult:
        """Send one stored delivery now, with the callback retry policy; when its URL
        finally fails and it has a fallback URL, the same request goes there. With
        delivery processes (``[webhooks] delivery_processes``) a ready worker makes the
        attempt; one that dies meanwhile leaves it to this process."""
        processes = self.processes
        worker = processes.pick(delivery.signer) if processes is not None else None
        if worker is None:
            return self.attempt_here(delivery)
        try:
            outcome = processes.attempt(worker, delivery)
        except WorkerLost as exc:
            log.warning("callback %d to %s: %s; attempting it here (the application may "
                        "see it twice)", delivery.id, delivery.url, exc)
            return self.attempt_here(delivery)
        delivery.attempts += outcome.attempts
        if outcome.retries:
            self.retried += outcome.retries
            CALLBACKS_RETRIED.labels(delivery.dialect).inc(outcome.retries)
        if outcome.error is not None:
            reason, status = outcome.error
            if outcome.bug:
                raise RuntimeError(f"delivery worker: {reason}")
            raise WebhookError(delivery.url, reason, status)
        assert outcome.result is not None
        return HttpResult(*outcome.result)

    def attempt_here(self, delivery: Delivery) -> HttpResult:
        """``attempt`` in this process."""
        timeout = delivery.timeout

        def sender(method: str, url: str, extra: Mapping[str, str]) -> Callable[[], HttpResult]:
            headers = dict(extra)
            if delivery.recovered:
                headers[RECOVERED_HEADER] = "true"

            def once() -> HttpResult:
                delivery.attempts += 1
                return self._send_once(
                    method, url, form=delivery.form, body=delivery.body,
                    content_type=delivery.content_type, headers=headers,
                    signer=delivery.signer, timeout=timeout)

            return once

        main = sender(delivery.method, delivery.url, delivery.headers)
        try:
            return self._with_retries(delivery.url, main, delivery.dialect, delivery)
        except WebhookError as primary:
            if not delivery.fallback_url:
                raise
            log.warning("callback to %s failed (%s): sending it to the fallback URL %s",
                        delivery.url, primary.reason, delivery.fallback_url)
            fallback = sender(delivery.fallback_method, delivery.fallback_url,
                              delivery.fallback_headers)
            try:
                return self._with_retries(delivery.fallback_url, fallback, delivery.dialect,
                                          delivery)
            except WebhookError as second:
                raise WebhookError(delivery.url, f"{primary.reason}; fallback "
                                   f"{delivery.fallback_url}: {second.reason}",
                                   second.status) from None

    def _deliver(self, delivery: Delivery, resent: bool) -> None:
        # Durable before the first attempt. A store that cannot write still sets it
        # (and logs): a callback is better sent than held back.
        delivery.stored.wait()
        try:
            result = self.attempt(delivery)
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the lane either
            delivery.error = exc.reason if isinstance(exc, WebhookError) else repr(exc)
            self.fail(delivery)
            if not isinstance(exc, WebhookError):
                log.exception("callback to %s failed", delivery.url)
            return
        self.outbox.remove(delivery)
        self.delivered += 1
        sent, latency = self._metrics_of(delivery.dialect)
        sent.inc()
        if not resent:
            latency.observe(time.time() - delivery.created_at)
        if delivery.reply:
            self._hand_reply(delivery, result)

    def _metrics_of(self, dialect: str) -> tuple[Any, Any]:
        """A dialect's sent counter and latency histogram (``labels()`` takes a lock and
        builds a key on every call: once per dialect is enough)."""
        metrics = self._dialect_metrics.get(dialect)
        if metrics is None:
            metrics = self._dialect_metrics[dialect] = (
                CALLBACKS_SENT.labels(dialect), CALLBACK_LATENCY.labels(dialect))
        return metrics

    def _hand_reply(self, delivery: Delivery, result: HttpResult) -> None:
        """The application's answer goes to the handler the delivery names (in the lane,
        so the replies of one lane are handed over in the order the callbacks were sent)."""
        handler = self.reply_handlers.get(delivery.reply)
        if handler is None:
            log.error("callback %d: no reply handler named %r (known: %s); its reply is "
                      "dropped", delivery.id, delivery.reply,
                      ", ".join(sorted(self.reply_handlers)) or "none")
            return
        try:
            handler(delivery, result)
        except Exception:  # noqa: BLE001 - one bad reply must not stop the lane
            log.exception("callback %d: the reply handler %r failed", delivery.id,
                          delivery.reply)

    def fail(self, delivery: Delivery) -> None:
        """A final failure: kept in the outbox and logged with everything needed to send
        it by hand."""
        delivery.failed_at = time.time()
        self.outbox.mark_failed(delivery)
        self.failed.append(delivery)
        CALLBACKS_FAILED.labels(delivery.dialect).inc()
        log.error(
            "callback %d to %s failed: %s (kept: conference-controller outbox retry %d)",
            delivery.id, delivery.url, delivery.error, delivery.id,
            extra={"callback": delivery.describe(), "callback_params": delivery.params,
                   "callback_key": delivery.lane},
        )

    def wait_lane(self, key: str, timeout: float | None = None) -> bool:
        """Wait until every callback queued under ``key`` was attempted (e.g. a member's
        ``exit`` before its action URL is fetched)."""
        if key not in self._lanes:
            return True
        done = self._lane_done.get(key)
        if done is None:
            done = self._lane_done[key] = gevent.event.Event()
        return done.wait(timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued callback was attempted and the outbox written."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._idle.wait(timeout):
            return False
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self.outbox.flush(left)

    @property
    def pending(self) -> int:
        return sum(len(lane) for lane in self._lanes.values()) + len(self._lanes)

    def close(self) -> None:
        if self.processes is not None:
            self.processes.close()
            self.processes = None
        self.http.close()
        self.outbox.close()


def auth_headers(hook: Webhook) -> dict[str, str]:
    """Basic-auth credentials a cloud's markup gave for this URL (the model may carry them)."""
    username = getattr(hook, "username", "")
    if not username:
        return {}
    password = getattr(hook, "password", "")
    return dict(urllib3.make_headers(basic_auth=f"{username}:{password}"))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RequestFailed) and exc.timed_out:
        return "no answer within the read timeout"
    return exc.reason if isinstance(exc, TransportError) else f"{type(exc).__name__}: {exc}"
