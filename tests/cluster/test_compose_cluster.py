"""docker/compose.cluster.yaml holds together: every controller's environment is a valid
configuration naming every FreeSWITCH service as a node and the Redis service, each node's
dialplan goes to the balancer, and the balancer's backends are the controllers."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
import yaml

from controller.config import load_settings

DOCKER = Path(__file__).resolve().parent.parent.parent / "docker"


@pytest.fixture(scope="module")
def services() -> dict:
    text = (DOCKER / "compose.cluster.yaml").read_text()
    # ${VAR:?message} / ${VAR:-default}: what compose substitutes with the variable unset
    text = re.sub(r"\$\{[A-Z0-9_]+:\?[^}]*\}", "secret", text)
    text = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", text)
    return yaml.safe_load(text)["services"]


def _controllers(services: dict) -> dict:
    return {name: s for name, s in services.items() if name.startswith("controller-")}


def test_each_controller_is_a_valid_cluster_member_of_every_node(services):
    freeswitch = sorted(n for n in services if n.startswith("freeswitch-"))
    controllers = _controllers(services)
    assert len(freeswitch) == 2 and len(controllers) == 2
    node_ids = set()
    for name, service in controllers.items():
        settings = load_settings(environ={k: str(v) for k, v in
                                          service["environment"].items()})
        assert sorted(host for host, _, _ in settings.freeswitch.nodes) == freeswitch, name
        assert settings.freeswitch.node_list()[0][2] == "secret"  # the ESL password
        assert settings.cluster.redis_url.startswith("redis://redis:"), name
        assert "redis" in service["depends_on"]
        node_ids.add(settings.cluster.node_id)
    assert len(node_ids) == 2  # a node id each


def test_every_node_reaches_the_controllers_through_the_balancer(services):
    config = (DOCKER / "haproxy" / "controllers.cfg").read_text()
    backends = re.findall(r"^\s*server \S+ (\S+):(\d+) check", config, re.M)
    controllers = _controllers(services)
    assert sorted(host for host, _ in backends) == sorted(controllers)
    for host, port in backends:
        assert controllers[host]["environment"]["CC_OUTBOUND_LISTEN_PORT"] == port
    bind = re.search(r"^\s*bind :(\d+)", config, re.M).group(1)
    for name in (n for n in services if n.startswith("freeswitch-")):
        env = services[name]["environment"]
        assert (env["FS_CONTROLLER_HOST"], env["FS_CONTROLLER_PORT"]) == ("controllers", bind)
    assert "./haproxy/controllers.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in \
        services["controllers"]["volumes"]


def test_each_node_is_moved_to_at_its_own_address_and_admits_the_others(services):
    """A caller is moved to its room's node at CC_CLUSTER_NODE_SIP_ADDRESSES, the node's
    fixed address on the compose network; every node admits exactly the nodes' addresses
    to its cluster context (FS_CLUSTER_CIDRS), none another container may get."""
    from controller.cluster.moves import RoomMover

    with open(DOCKER / "compose.cluster.yaml") as compose:
        network = yaml.safe_load(compose)["networks"]["default"]["ipam"]["config"][0]
    subnet = ipaddress.ip_network(network["subnet"])
    dynamic = ipaddress.ip_network(network["ip_range"])
    nodes = {name: ipaddress.ip_address(s["networks"]["default"]["ipv4_address"])
             for name, s in services.items() if name.startswith("freeswitch-")}
    assert len(set(nodes.values())) == 2
    for name, address in nodes.items():
        assert address in subnet and address not in dynamic, name
        # The SIP profile listens on 5060 in the container (sip_port's default).
        assert any(str(p).endswith(":5060/udp") for p in services[name]["ports"]), name

    for name, service in _controllers(services).items():
        settings = load_settings(environ={k: str(v) for k, v in
                                          service["environment"].items()})
        sip = dict(settings.cluster.node_sip_addresses)
        assert sip == {f"{node}:8021": f"{address}:5060"
                       for node, address in nodes.items()}, name
        for host, port, _ in settings.freeswitch.node_list():
            RoomMover(settings, None, None, f"{host}:{port}")  # names every node, validly

    cidrs = {ipaddress.ip_network(f"{address}/32") for address in nodes.values()}
    for name in nodes:
        listed = services[name]["environment"]["FS_CLUSTER_CIDRS"].split(",")
        assert {ipaddress.ip_network(c.strip()) for c in listed} == cidrs, name
