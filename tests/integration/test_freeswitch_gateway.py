"""freeswitch-conf's SIP trunk: a gateway in the internal profile only when FS_GATEWAY_NAME
is set, its parameters from FS_GATEWAY_* (rendered the way FreeSWITCH's pre-processor
would, by test_freeswitch_conf.render)."""

from __future__ import annotations

from test_freeswitch_conf import render

SECRETS = {"FS_ESL_PASSWORD": "e", "FS_SIP_PASSWORD": "s"}


def gateways(rendered) -> dict[str, dict[str, str]]:
    profile = next(p for p in rendered.configuration("sofia.conf").iter("profile")
                   if p.get("name") == "internal")
    return {gateway.get("name"): {param.get("name"): param.get("value")
                                  for param in gateway.iter("param")}
            for gateway in profile.iter("gateway")}


def test_no_gateway_without_its_name(tmp_path):
    assert gateways(render(tmp_path, SECRETS)) == {}
    assert gateways(render(tmp_path, {**SECRETS, "FS_GATEWAY_HOST": "trunk.example"})) == {}


def test_gateway_from_the_environment(tmp_path):
    rendered = render(tmp_path, {**SECRETS, "FS_GATEWAY_NAME": "trunk",
                                 "FS_GATEWAY_HOST": "sip.example.net:5080",
                                 "FS_GATEWAY_USER": "acct1",
                                 "FS_GATEWAY_PASSWORD": 'p<&>"\'w'})
    assert gateways(rendered) == {"trunk": {
        "proxy": "sip.example.net:5080", "realm": "sip.example.net:5080",
        "username": "acct1", "from-user": "acct1", "password": 'p<&>"\'w',
        "register": "true", "caller-id-in-from": "true"}}


def test_gateway_without_account_does_not_register(tmp_path):
    rendered = render(tmp_path, {**SECRETS, "FS_GATEWAY_NAME": "carrier",
                                 "FS_GATEWAY_HOST": "192.0.2.50"})
    assert gateways(rendered) == {"carrier": {
        "proxy": "192.0.2.50", "realm": "192.0.2.50", "register": "false",
        "caller-id-in-from": "true"}}


def test_bad_gateway_values_give_no_gateway(tmp_path):
    for env in ({"FS_GATEWAY_NAME": "a b", "FS_GATEWAY_HOST": "h"},
                {"FS_GATEWAY_NAME": "ok", "FS_GATEWAY_HOST": "h/<x>"},
                {"FS_GATEWAY_NAME": "ok"}):
        assert gateways(render(tmp_path, {**SECRETS, **env})) == {}, env
