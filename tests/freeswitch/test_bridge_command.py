"""controller.freeswitch.originate.bridge: the ``bridge`` application's dial string."""

from __future__ import annotations

import pytest

from controller.freeswitch import originate as fs

UUID = "3b9f2c1e-8e0a-4d6b-9a51-0b8f6f5b1c2d"


def test_bridge_dial_string_keeps_spaces_and_escapes_commas():
    call = fs.bridge(fs.SipUri("sip:bob@127.0.0.1:5090", "internal"),
                     {fs.ORIGINATION_UUID: UUID, fs.CALLER_ID_NAME: "Front Desk, Inc"})
    assert call.app == "bridge"
    assert call.arg == (f"{{origination_uuid={UUID},origination_caller_id_name=Front Desk\\, "
                        "Inc}sofia/internal/bob@127.0.0.1:5090")


@pytest.mark.parametrize("value", ["a{b", "a}b", "it's", 'say "hi"', "a\\b", "${x}", "a|b",
                                   "line\nbreak"])
def test_bridge_refuses_values_that_cannot_pass_the_dial_string(value):
    with pytest.raises(fs.OriginateError, match="origination_caller_id_name"):
        fs.bridge(fs.SipUser("bob"), {fs.CALLER_ID_NAME: value})


def test_bridge_checks_the_uuid_and_variable_names():
    with pytest.raises(fs.UnsafeArgument):
        fs.bridge(fs.SipUser("bob"), {fs.ORIGINATION_UUID: "not a uuid"})
    with pytest.raises(fs.OriginateError, match="not a channel variable name"):
        fs.bridge(fs.SipUser("bob"), {"bad name": "x"})
