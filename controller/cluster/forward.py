"""Every face's REST API on any controller: a request for a call another controller runs
is forwarded there, once, and its answer returned unchanged.

A call's commands run where its session runs (``controller.cluster.calls``). The faces
look calls up with ``engine.calls.find(id)``; in a cluster that raises ``RunsElsewhere``
when the call is not here but the shared registry names another live controller. The
handler installed on every REST blueprint (``install``) then sends the same request
(method, path, query, body, credentials) to that controller with ``X-Conference-Forwarded``
and answers with its status, body and content type. A forwarded request is never
forwarded again (``find`` answers None, so the face gives its own 404), and an owner
that cannot be reached gets the same treatment: the view runs again here with
forwarding off and answers the face's own "no such call" shape.

Without ``[cluster] redis_url`` nothing here is used: ``CallRegistry.find`` is ``get``.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from flask import Response, current_app, g, has_request_context, request

from controller.cluster.calls import FORWARDED_HEADER

log = logging.getLogger(__name__)

FORWARD_TIMEOUT = 10.0  # seconds: a command answers at once (it is queued on the call)
# What the owner needs to authenticate and read the request the same way; hop-by-hop
# and host headers are the HTTP client's own.
PASSED_HEADERS = ("Authorization", "Content-Type", "Accept", "Idempotency-Key", "User-Agent")
MAX_KEPT_BODY = 1 << 20  # bytes
_NOT_FORWARDABLE = "cc_not_forwardable"
_session = requests.Session()  # a pool of keep-alive connections to the other controllers


class RunsElsewhere(Exception):
    """``what`` (a call id) is run by the controller at ``base_url``."""

    def __init__(self, what: str, base_url: str):
        super().__init__(f"{what} runs on the controller at {base_url}")
        self.what = what
        self.base_url = base_url.rstrip("/")


def may_forward() -> bool:
    """True inside a REST request that was not forwarded already (and whose owner was not
    found unreachable): only then is a call of another controller worth a RunsElsewhere."""
    if not has_request_context():
        return False
    return not request.headers.get(FORWARDED_HEADER) and not g.get(_NOT_FORWARDABLE, False)


def forward_request(base_url: str) -> Response | None:
    """This request, sent to ``base_url``: the owner's answer, or None if unreachable."""
    url = base_url + request.full_path if request.query_string else base_url + request.path
    headers = {name: request.headers[name] for name in PASSED_HEADERS if name in request.headers}
    headers[FORWARDED_HEADER] = "1"
    try:
        reply = _session.request(request.method, url, headers=headers,
                                 data=request.get_data(cache=True), timeout=FORWARD_TIMEOUT,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        log.warning("cluster: controller %s unreachable for %s %s: %s", base_url,
                    request.method, request.path, exc)
        return None
    answer = Response(reply.content, status=reply.status_code,
                      content_type=reply.headers.get("Content-Type"))
    for name in ("WWW-Authenticate", "Location", "Idempotency-Replayed"):
        if name in reply.headers:
            answer.headers[name] = reply.headers[name]
    return answer


def _run_here() -> Any:
    """The view again, with forwarding off: the face answers as if the call were unknown."""
    setattr(g, _NOT_FORWARDABLE, True)
    view = current_app.view_functions[request.endpoint]
    try:
        return current_app.make_response(view(**(request.view_args or {})))
    except Exception as exc:  # noqa: BLE001 - the face's own error handlers answer it
        return current_app.handle_user_exception(exc)


def handle(error: RunsElsewhere) -> Any:
    answer = forward_request(error.base_url)
    if answer is not None:
        return answer
    return _run_here()


def install(blueprint: Any) -> None:
    """Register the handler on a REST blueprint (before the app registers it). On the
    blueprint itself: a blueprint's own ``errorhandler(Exception)`` would otherwise win
    over an application-wide handler."""
    blueprint.before_request(_keep_body)
    blueprint.register_error_handler(RunsElsewhere, handle)


def _keep_body() -> None:
    """Read the body before the view: once a view has parsed a form, the raw body is gone
    unless it was cached first (werkzeug parses a cached body from its copy). Bodies
    larger than any face takes (64 KiB) are left to the face to refuse."""
    if (request.content_length or 0) <= MAX_KEPT_BODY:
        request.get_data(cache=True)
