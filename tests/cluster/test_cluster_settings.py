"""[cluster] and [freeswitch] nodes: bad values stop start-up naming the setting and the
accepted form; without them a controller is a single node as before."""

from __future__ import annotations

import re

import pytest

from controller.config import ConfigError, load_settings


def _load(**sections: dict[str, str]):
    return load_settings(environ={}, overrides=sections)


def test_single_node_by_default():
    settings = _load()
    assert settings.cluster.redis_url == ""
    assert settings.freeswitch.node_list() == (("127.0.0.1", 8021, "ClueCon"),)


def test_nodes_take_the_esl_password_unless_they_name_their_own():
    settings = _load(freeswitch={"nodes": "fs1:8021, fs2:9021:other", "esl_password": "pw"})
    assert settings.freeswitch.node_list() == (("fs1", 8021, "pw"), ("fs2", 9021, "other"))


@pytest.mark.parametrize(("value", "message"), [
    ("fs1", "'fs1': each node must be host:port[:password]"),
    ("fs1:0", "'fs1:0': each node must be host:port[:password]"),
    (":8021", "':8021': each node must be host:port[:password]"),
    ("fs1:8021,fs1:8021:x", "lists a node (host:port) twice"),
])
def test_bad_nodes_are_named(value, message):
    with pytest.raises(ConfigError) as error:
        _load(freeswitch={"nodes": value})
    assert str(error.value).startswith(f"freeswitch.nodes (override freeswitch.nodes) = "
                                       f"{value!r}: ")
    assert message in str(error.value)


@pytest.mark.parametrize(("section", "values", "message"), [
    ("cluster", {"redis_url": "http://redis:6379"}, "cluster.redis_url (override "
     "cluster.redis_url) = 'http://redis:6379': must be a Redis URL"),
    ("cluster", {"node_id": "a b"}, "cluster.node_id (override cluster.node_id) = 'a b': "
     "may contain only letters, digits and -_."),
    ("cluster", {"lease_seconds": "1"}, "cluster.lease_seconds (override "
     "cluster.lease_seconds) = '1': must be a number 2-3600"),
])
def test_bad_cluster_settings_are_named(section, values, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        _load(**{section: values})
