"""controller/freeswitch/originate.py: the command strings, read back the way FreeSWITCH
reads them (the simulator's switch_separate_string and brackets parser)."""

from __future__ import annotations

import pytest

from controller.freeswitch import originate as fs
from controller.sim.fsutil import separate_string
from controller.sim.originate import parse_target, split_variables


def parse(command: str) -> tuple[dict[str, str], str, list[str]]:
    """originate_function's view: argv split on spaces, then the {vars} of argv[0]."""
    assert command.startswith("originate ")
    argv = separate_string(command[len("originate "):], " ", 10)
    variables, dial = split_variables(argv[0])
    return dict(variables), dial, argv[1:]


def test_socket_app_is_one_quoted_argument():
    command = fs.originate(fs.SipUri("sip:uas@127.0.0.1:5090"), {"origination_uuid": "u-1"},
                           fs.socket_app("127.0.0.1", 8084))
    assert command == ("originate {origination_uuid=u-1}sofia/internal/uas@127.0.0.1:5090 "
                       "'&socket(127.0.0.1:8084 async full)'")  # capture 07d, step B
    _, dial, rest = parse(command)
    assert dial == "sofia/internal/uas@127.0.0.1:5090"
    assert rest == ["&socket(127.0.0.1:8084 async full)"]


@pytest.mark.parametrize("value", ["Alice Smith", "Smith, Alice", "a=b", "  padded  ",
                                   "Ünïcode Nàme", "x,y z,,w"])
def test_values_come_back_as_given(value):
    command = fs.originate(fs.SipUser("1000"), {"origination_caller_id_name": value,
                                                "cc_x": "1"}, fs.park_app())
    variables, dial, rest = parse(command)
    assert variables == {"origination_caller_id_name": value.strip(), "cc_x": "1"}
    assert (dial, rest) == ("user/1000", ["&park()"])


@pytest.mark.parametrize("value", ["a{b", "a}b", "it's", 'say "hi"', "back\\slash", "a|b",
                                   "x:_:y", "${uuid}", "line\nbreak", "tab\there"])
def test_values_that_cannot_pass_are_refused(value):
    with pytest.raises(fs.OriginateError):
        fs.originate(fs.SipUser("1000"), {"origination_caller_id_name": value}, fs.park_app())


@pytest.mark.parametrize(("destination", "dial"), [
    (fs.SipUser("1000"), "user/1000"),
    (fs.SipUser("alice@example.com"), "user/alice@example.com"),
    (fs.SipUri("bob@192.0.2.7"), "sofia/internal/bob@192.0.2.7"),
    (fs.SipUri("sip:bob@host.example:5080;transport=tcp", "external"),
     "sofia/external/bob@host.example:5080;transport=tcp"),
    (fs.GatewayNumber("trunk", "+15551234567"), "sofia/gateway/trunk/+15551234567"),
])
def test_destinations(destination, dial):
    assert destination.dial_string() == dial
    assert parse_target(dial) is not None


@pytest.mark.parametrize("destination", [
    fs.SipUser("a b"), fs.SipUser("x,y"), fs.SipUri("sip:a b@h"), fs.SipUri("sip:a@h,b@i"),
    fs.SipUri("sip:a@h|b@i"), fs.SipUri("sip:{x}@h"), fs.GatewayNumber("t t", "1"),
    fs.GatewayNumber("t", "1 2"), fs.GatewayNumber("t", "1)"),
])
def test_bad_destinations_are_refused(destination):
    with pytest.raises(fs.OriginateError):
        destination.dial_string()


def test_socket_address_is_checked():
    for host, port in (("a b", 1), ("h", 0), ("h", 70000), ("h)", 1)):
        with pytest.raises(fs.OriginateError):
            fs.socket_app(host, port)


@pytest.mark.parametrize(("reply", "uuid", "cause"), [
    ("+OK 5eae7eb9-ffa5-433e-bff1-77b8f8d4c5ba\n", "5eae7eb9-ffa5-433e-bff1-77b8f8d4c5ba", ""),
    ("-ERR USER_BUSY\n", "", "USER_BUSY"),
    ("-ERR NO_ANSWER\n", "", "NO_ANSWER"),
    ("-ERR NORMAL_TEMPORARY_FAILURE\n", "", "NORMAL_TEMPORARY_FAILURE"),
    ("-ERR DESTINATION_OUT_OF_ORDER\n", "", "DESTINATION_OUT_OF_ORDER"),
    ("-USAGE: <call url> ...\n", "", ""),
    ("", "", ""),
])
def test_replies(reply, uuid, cause):
    result = fs.originate_result(reply)
    assert (result.uuid, result.cause, result.ok) == (uuid, cause, bool(uuid))
