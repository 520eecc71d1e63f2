"""HTTP to the application: document fetches (answer, action, redirect, sounds) and callbacks.

One pooled HTTP client (urllib3, see ``_TRANSPORT_ERRORS``); every request has a
connect and a read timeout;
connection errors and 5xx are retried with exponential backoff; 4xx are not
(the application said no). Callbacks are queued per key (one member, one
room) and delivered in order by a lane greenlet, so a slow endpoint never
blocks a call or an ESL handler, and a failed delivery is logged with every
parameter and kept in ``failed``: never dropped silently.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlencode, urljoin, urlsplit, urlunsplit

import gevent
import gevent.event
import gevent.queue
import urllib3

from controller import __version__
from controller.config import WebhookSettings
from controller.logs import current_log_context, log_context
from controller.model import HttpMethod, Webhook
from controller.signing import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

USER_AGENT = f"conference-controller/{__version__}"


class WebhookError(Exception):
    """The application's URL could not give us what we needed."""

    def __init__(self, url: str, reason: str, status: int | None = None):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


@dataclass
class Delivery:
    hook: Webhook
    params: dict[str, str]
    key: str
    queued_at: float = field(default_factory=time.time)
    error: str = ""
    context: dict = field(default_factory=dict)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


@dataclass(frozen=True)
class HttpResult:
    status: int
    url: str  # after redirects
    content_type: str
    body: bytes


# Callbacks are the hot path (one per enter/exit/digits/floor of every member):
# urllib3's pool, the engine under requests, costs half the CPU per request of
# requests.Session (measured: ~0.6 ms vs ~1.2 ms), so webhooks use it directly.
_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)
_NO_RETRIES = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5,
                            raise_on_redirect=False)


class Webhooks:
    def __init__(self, settings: WebhookSettings):
        self.settings = settings
        self.pool = urllib3.PoolManager(num_pools=64, maxsize=settings.pool_size,
                                        headers={"User-Agent": USER_AGENT})
        self.timeout = urllib3.Timeout(connect=settings.connect_timeout,
                                       read=settings.read_timeout)
        self._lanes: dict[str, gevent.queue.Queue] = {}
        self._lane_done: dict[str, gevent.event.Event] = {}
        self._idle = gevent.event.Event()
        self._idle.set()
        self.failed: collections.deque[Delivery] = collections.deque(maxlen=1000)
        self.delivered = 0
        self.retried = 0

    # ------------------------------------------------------------ requests
    def _send_once(self, hook: Webhook, params: Mapping[str, str],
                   max_bytes: int | None) -> HttpResult:
        params = {k: str(v) for k, v in params.items()}
        headers = {}
        if hook.method is HttpMethod.GET:
            url, body, signed = _with_query(hook.url, params), None, {}
        else:
            url, body, signed = hook.url, urlencode(params), params
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.settings.signing_secret:
            headers[SIGNATURE_HEADER] = sign(self.settings.signing_secret, url, signed)
        parts = urllib3.util.parse_url(url)
        if parts.auth:  # http://user:pass@host/ -> basic auth, as browsers and requests do
            headers.update(urllib3.make_headers(basic_auth=unquote(parts.auth)))
            url = parts._replace(auth=None).url
        response = self.pool.request(
            hook.method.value, url, body=body, headers=headers, timeout=self.timeout,
            retries=_NO_RETRIES,  # ours are above, with backoff; redirects are followed
            preload_content=False,
        )
        try:
            data = self._read_body(response, max_bytes, hook.url)
        finally:
            response.release_conn()
        final = urljoin(url, response.geturl() or url)  # Location may be relative
        return HttpResult(response.status, final, response.headers.get("Content-Type", ""), data)

    def request(self, hook: Webhook, params: Mapping[str, str], *,
                max_bytes: int | None = None) -> HttpResult:
        """One request with retries: connection errors and 5xx are retried with backoff,
        4xx are not (the application said no)."""
        attempts = self.settings.retries + 1
        last = ""
        status = None
        for attempt in range(attempts):
            if attempt:
                self.retried += 1
                gevent.sleep(self.settings.backoff * (2 ** (attempt - 1)))
            try:
                result = self._send_once(hook, params, max_bytes)
            except _TRANSPORT_ERRORS as exc:
                last = f"{type(exc).__name__}: {exc}"
                status = None
                continue
            if result.status >= 500:
                last, status = f"HTTP {result.status}", result.status
                continue
            if result.status >= 400:
                raise WebhookError(hook.url, f"HTTP {result.status}", result.status)
            return result
        raise WebhookError(hook.url, f"{last} (after {attempts} attempts)", status)

    @staticmethod
    def _read_body(response: urllib3.BaseHTTPResponse, max_bytes: int | None,
                   url: str) -> bytes:
        chunks, size = [], 0
        for chunk in response.stream(65536):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise WebhookError(url, f"response larger than {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def fetch_document(self, hook: Webhook, params: Mapping[str, str],
                       max_bytes: int) -> tuple[bytes, str]:
        """GET/POST a document URL; returns (body, final URL after redirects)."""
        result = self.request(hook, params, max_bytes=max_bytes)
        return result.body, result.url

    def download(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        """GET a media file; returns (bytes, content type)."""
        result = self.request(Webhook(url, HttpMethod.GET), {}, max_bytes=max_bytes)
        return result.body, result.content_type

    # ------------------------------------------------------------ callbacks
    def send(self, hook: Webhook, params: Mapping[str, str], key: str) -> None:
        """Queue a callback; callbacks with the same key are delivered in order."""
        delivery = Delivery(hook, {k: str(v) for k, v in params.items()}, key,
                            context=current_log_context())
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = gevent.queue.Queue()
            self._lane_done[key] = gevent.event.Event()
            self._idle.clear()
            gevent.spawn(self._run_lane, key, lane)
        lane.put(delivery)

    def _run_lane(self, key: str, lane: gevent.queue.Queue) -> None:
        try:
            while True:
                try:
                    delivery = lane.get_nowait()
                except gevent.queue.Empty:
                    return
                with log_context(**delivery.context):
                    self._deliver(delivery)
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]
                self._lane_done.pop(key).set()
            if not self._lanes:
                self._idle.set()

    def _deliver(self, delivery: Delivery) -> None:
        try:
            self.request(delivery.hook, delivery.params)
        except WebhookError as exc:
            delivery.error = exc.reason
            self.failed.append(delivery)
            log.error(
                "callback to %s failed: %s", delivery.hook.url, exc.reason,
                extra={"callback_params": delivery.params, "callback_key": delivery.key},
            )
            return
        except Exception as exc:  # a bug must not kill the lane and lose later callbacks
            delivery.error = repr(exc)
            self.failed.append(delivery)
            log.exception("callback to %s failed", delivery.hook.url)
            return
        self.delivered += 1

    def wait_lane(self, key: str, timeout: float | None = None) -> bool:
        """Wait until every callback queued under ``key`` was attempted (e.g. a member's
        ``exit`` before its action URL is fetched)."""
        done = self._lane_done.get(key)
        return True if done is None else done.wait(timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued callback was attempted (tests, shutdown)."""
        return self._idle.wait(timeout)

    @property
    def pending(self) -> int:
        return sum(lane.qsize() for lane in self._lanes.values()) + len(self._lanes)

    def close(self) -> None:
        self.pool.clear()
