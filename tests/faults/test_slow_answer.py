"""An answer URL that answers after 60 s (issue 14: the answer request was POSTed 4 times,
so the application saw four calls). The request may have reached the application, so it
is never sent again: the controller gives up after `[webhooks] fetch_timeout`."""

from __future__ import annotations

import gevent
from appkit import wait_until
from stack import Stack


def test_an_answer_url_that_answers_after_60_s_is_requested_once(tmp_path, recorder):
    answered = gevent.event.Event()

    def slow_answer(params):
        answered.wait(60)  # released at the end of the test instead of sleeping 60 s
        return "<Response><Hangup/></Response>"

    recorder.documents["/answer"] = slow_answer
    settings = {"webhooks": {"fetch_timeout": "1", "retries": "3", "backoff": "0.05"},
                "data": {"directory": str(tmp_path / "data")}}
    try:
        with Stack(tmp_path, app=recorder.app, settings=settings) as stack:
            phone = stack.phones.call("1000", caller_id="alice")
            phone.wait_hangup(timeout=20)  # the error path ends the call
            recorder.wait_for("/hangup", CallUUID=phone.uuid)
            gevent.sleep(1.0)  # room for a retry, had there been one (backoff 0.05 s)
            assert len(recorder.at("/answer")) == 1
            wait_until(lambda: stack.controller.webhooks.flush(0), what="callbacks done")
    finally:
        answered.set()
