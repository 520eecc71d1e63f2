"""The cc_resume channel variable: round trip, and safe inside a FreeSWITCH `set`."""

from __future__ import annotations

import pytest

from controller.model import ConferenceJoin, HttpMethod, Webhook
from controller.resume import decode_resume, encode_resume


def test_round_trip_keeps_what_the_member_leaving_needs():
    join = ConferenceJoin(room="sales", action=Webhook("http://app/act?x=${y}", HttpMethod.GET),
                          redirect=False, callback=Webhook("http://app/cb"))
    value = encode_resume(join)
    assert "$" not in value and "\n" not in value  # FreeSWITCH expands ${...} in `set`
    state = decode_resume(value)
    assert state.room == "sales" and state.redirect is False
    assert state.action == Webhook("http://app/act?x=${y}", HttpMethod.GET)
    assert state.callback == Webhook("http://app/cb", HttpMethod.POST)
    assert decode_resume(encode_resume(ConferenceJoin(room="r"))).action is None


@pytest.mark.parametrize("value", ["", "not json", "[]", '{"v": 2, "room": "r"}', '{"v": 1}'])
def test_values_we_did_not_write_are_refused(value):
    with pytest.raises(ValueError):
        decode_resume(value)
