"""Settings: an INI file, overridden by environment variables, validated at start-up.

Every setting lives in a section of the INI file and can be overridden by the
environment variable ``CC_<SECTION>_<NAME>`` (upper case), e.g.
``CC_FREESWITCH_ESL_PASSWORD``. A bad value stops start-up with a message that
names the setting, where it came from and the form it accepts.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "CC_"
CONFIG_FILE_ENV = "CC_CONFIG"


class ConfigError(ValueError):
    """A setting has a value we cannot use."""


# ---------------------------------------------------------------- value parsers
# Each parser takes the raw string and returns the typed value or raises
# ValueError with the accepted form (the caller adds the setting's name).


def _int_range(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"must be an integer {lo}-{hi}") from None
        if not lo <= value <= hi:
            raise ValueError(f"must be an integer {lo}-{hi}")
        return value

    return parse


def _float_range(lo: float, hi: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"must be a number {lo:g}-{hi:g}") from None
        if not lo <= value <= hi:
            raise ValueError(f"must be a number {lo:g}-{hi:g}")
        return value

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise ValueError("must be true or false")


def _text(raw: str) -> str:
    return raw.strip()


def _nonempty(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw.strip()


def _http_url(optional: bool) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if not value and optional:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    return parse


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if value.upper() in allowed:
            return value.upper()
        if value.lower() in allowed:
            return value.lower()
        raise ValueError("must be one of " + ", ".join(allowed))

    return parse


def _room_prefix(raw: str) -> str:
    value = raw.strip()
    if value and not all(c.isalnum() or c in "-_." for c in value):
        raise ValueError("may contain only letters, digits and -_.")
    if len(value) > 40:
        raise ValueError("must be at most 40 characters")
    return value


def _number_map(raw: str) -> Mapping[str, str]:
    """``1000=http://a/answer, 2000=http://b/answer`` -> {number: url} (read-only)."""
    result: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.replace("\n", ",").split(","))):
        number, sep, url = item.partition("=")
        if not sep or not number.strip():
            raise ValueError("must be a comma list of <number>=<url>")
        result[number.strip()] = _http_url(optional=False)(url)
    return MappingProxyType(result)


def _host_port(raw: str) -> str:
    """``host:port`` or empty."""
    value = raw.strip()
    if not value:
        return ""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port (e.g. controller:8084) or empty")
    return value


def _dialect_name(raw: str) -> str:
    value = raw.strip().lower()
    if not value or not all(c.isalnum() or c == "_" for c in value):
        raise ValueError("must be a dialect name (letters, digits, _)")
    return value


def _number_dialects(raw: str) -> Mapping[str, str]:
    """``1000=cxml, 2000=bxml`` -> {number: dialect} (read-only)."""
    result: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.replace("\n", ",").split(","))):
        number, sep, name = item.partition("=")
        if not sep or not number.strip():
            raise ValueError("must be a comma list of <number>=<dialect>")
        result[number.strip()] = _dialect_name(name)
    return MappingProxyType(result)


def _ed25519_private_key(raw: str) -> str:
    """Base64 of an Ed25519 private key: the 32-byte seed (or libsodium's 64-byte
    seed+public key form)."""
    import base64
    import binascii

    value = raw.strip()
    if not value:
        return ""
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64 (the Ed25519 private key)") from None
    if len(key) not in (32, 64):
        raise ValueError(f"must be a base64 Ed25519 private key of 32 bytes (got {len(key)})")
    return value


def _redis_url(raw: str) -> str:
    """``redis://[:password@]host:port/db`` (or rediss://, unix://) or empty."""
    value = raw.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ValueError("must be a Redis URL: redis://host:port/db, rediss://... or "
                         "unix:///path (empty: single node, no shared store)")
    return value


def _cluster_node_id(raw: str) -> str:
    value = raw.strip()
    if value and not all(c.isalnum() or c in "-_." for c in value):
        raise ValueError("may contain only letters, digits and -_.")
    if len(value) > 64:
        raise ValueError("must be at most 64 characters")
    return value


def _freeswitch_nodes(raw: str) -> tuple[tuple[str, int, str], ...]:
    """``host:port[:password], ...`` -> ((host, port, password), ...); empty: none given."""
    nodes = []
    for item in filter(None, (part.strip() for part in raw.replace("\n", ",").split(","))):
        host, _, rest = item.partition(":")
        port, _, password = rest.partition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{item!r}: each node must be host:port[:password] "
                             "(e.g. fs1:8021:ClueCon), comma separated")
        nodes.append((host, int(port), password))
    names = [f"{host}:{port}" for host, port, _ in nodes]
    if len(set(names)) != len(names):
        raise ValueError("lists a node (host:port) twice")
    return tuple(nodes)


def _node_sip_addresses(raw: str) -> tuple[tuple[str, str], ...]:
    """``node=sip_host:sip_port, ...`` (node: ``host:port`` of its Event Socket, as in
    ``[freeswitch] nodes``) -> ((node, "sip_host:sip_port"), ...); empty: none."""
    pairs = []
    for item in filter(None, (part.strip() for part in raw.replace("\n", ",").split(","))):
        node, sep, address = (part.strip() for part in item.partition("="))
        host, _, port = address.rpartition(":")
        node_host, _, node_port = node.rpartition(":")
        if (not sep or not node_host or not node_port.isdigit() or not host
                or not port.isdigit() or not 0 < int(port) < 65536
                or not all(c.isalnum() or c in "-_." for c in host)):
            raise ValueError(f"{item!r}: each entry must be node=sip_host:sip_port, the node "
                             "as host:port of its Event Socket (e.g. "
                             "fs1:8021=10.0.0.11:5060), comma separated")
        pairs.append((node, f"{host}:{int(port)}"))
    names = [node for node, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("gives a node two SIP addresses")
    return tuple(pairs)


def _sofia_profile(raw: str) -> str:
    value = raw.strip()
    if not value or not all(c.isalnum() or c in "-_." for c in value):
        raise ValueError("must be a SIP profile name (letters, digits and -_.)")
    return value


# ---------------------------------------------------------------- settings


def _setting(
    default: str, parse: Callable[[str], Any], doc: str, secret: bool = False
) -> Any:
    parse(default)  # a bad built-in default is a bug: fail at import
    return field(
        default_factory=lambda: parse(default),
        metadata={"raw_default": default, "parse": parse, "doc": doc, "secret": secret},
    )


@dataclass(frozen=True)
class FreeswitchSettings:
    esl_host: str = _setting("127.0.0.1", _nonempty, "FreeSWITCH inbound Event Socket host")
    esl_port: int = _setting("8021", _int_range(1, 65535), "FreeSWITCH inbound Event Socket port")
    esl_password: str = _setting(
        "ClueCon", _nonempty, "Event Socket password (event_socket.conf.xml)", secret=True
    )
    command_timeout: float = _setting(
        "5", _float_range(0.1, 300), "seconds to wait for any ESL command reply"
    )
    heartbeat_timeout: float = _setting(
        "60", _float_range(5, 3600),
        "seconds without any event (FreeSWITCH sends HEARTBEAT every 20 s) before the "
        "inbound connection is treated as dead",
    )
    probe_interval: float = _setting(
        "2", _float_range(0.5, 60),
        "seconds between liveness probes (`api status`) on the inbound connection",
    )
    probe_timeout: float = _setting(
        "5", _float_range(0.5, 60),
        "seconds a liveness probe may wait for its reply before the connection is treated "
        "as dead (a silent FreeSWITCH is noticed within probe_interval + probe_timeout)",
    )
    lost_call_wait: float = _setting(
        "10", _float_range(0.5, 600),
        "seconds a call whose socket was lost waits for FreeSWITCH to reconnect before it "
        "is checked (`uuid_exists`): gone, its exit/action/hangup requests are sent, "
        "marked recovered",
    )
    conference_profile: str = _setting(
        "default", _nonempty, "mod_conference profile every room is created in"
    )
    room_prefix: str = _setting(
        "", _room_prefix, "prefix added to FreeSWITCH room names (scopes tenants sharing one FS)"
    )
    nodes: tuple[tuple[str, int, str], ...] = _setting(
        "", _freeswitch_nodes, "cluster: every FreeSWITCH node as host:port[:password], comma "
        "separated (empty: the single esl_host:esl_port)")

    def node_list(self) -> tuple[tuple[str, int, str], ...]:
        """(host, port, password) of every node: ``nodes``, or the single esl_host."""
        if self.nodes:
            return tuple((h, p, pw or self.esl_password) for h, p, pw in self.nodes)
        return ((self.esl_host, self.esl_port, self.esl_password),)


@dataclass(frozen=True)
class OutboundSettings:
    listen_host: str = _setting(
        "0.0.0.0", _nonempty, "address FreeSWITCH's `socket` app connects to"
    )
    listen_port: int = _setting(
        "8084", _int_range(0, 65535), "outbound Event Socket port (0: any free port)"
    )
    connect_address: str = _setting(
        "", _host_port,
        "host:port FreeSWITCH connects dialled calls to (`&socket(...)`); empty: listen_host "
        "(127.0.0.1 for 0.0.0.0) and the listening port. In Docker: the controller's name",
    )
    caller_id_number: str = _setting(
        "", _text, "caller ID number of dialled calls that give none (empty: FreeSWITCH's)"
    )
    caller_id_name: str = _setting(
        "", _text, "caller ID name of dialled calls that give none (empty: FreeSWITCH's)"
    )
    ring_timeout: int = _setting(
        "60", _int_range(1, 600), "seconds a dialled call rings before it is NO_ANSWER"
    )
    sip_profile: str = _setting(
        "internal", _nonempty, "sofia profile that sip: addresses are dialled through"
    )
    gateway: str = _setting(
        "", _text,
        "sofia gateway phone numbers are dialled through (freeswitch-conf: FS_GATEWAY_NAME); "
        "empty: numbers are registered SIP users",
    )


@dataclass(frozen=True)
class HttpSettings:
    listen_host: str = _setting("0.0.0.0", _nonempty, "REST API / health / recordings address")
    listen_port: int = _setting(
        "8000", _int_range(0, 65535), "REST API / health port (0: any free port)"
    )
    public_base_url: str = _setting(
        "http://127.0.0.1:8000", _http_url(optional=False),
        "how applications reach this controller's HTTP (RecordUrl is built from it)",
    )


@dataclass(frozen=True)
class AppSettings:
    answer_url: str = _setting(
        "", _http_url(optional=True), "default answer URL fetched for every call"
    )
    answer_method: str = _setting("POST", _choice("GET", "POST"), "method for the answer URL")
    number_answer_urls: Mapping[str, str] = _setting(
        "", _number_map, "per dialed number answer URLs: `1000=http://.../a, 2000=http://.../b`"
    )
    hangup_url: str = _setting(
        "", _http_url(optional=True), "URL notified when a call ends (with HangupCause)"
    )
    hangup_method: str = _setting("POST", _choice("GET", "POST"), "method for the hangup URL")
    fallback_url: str = _setting(
        "", _http_url(optional=True),
        "requested, with the same parameters, when the answer URL fails (as Plivo's "
        "fallback_url, Twilio's FallbackUrl)",
    )
    fallback_method: str = _setting("POST", _choice("GET", "POST"), "method for the fallback URL")
    ringback: str = _setting(
        "ringing", _choice("ringing", "tone", "silence"),
        "what the caller hears while the answer URL is fetched: `ringing` (180 Ringing: the "
        "phone plays its own ringback), `tone` (early media: ringback_tone until the "
        "document arrives) or `silence` (nothing is sent)",
    )
    ringback_tone: str = _setting(
        "tone_stream://%(2000,4000,440,480);loops=-1", _nonempty,
        "the tone played with ringback=tone while the answer URL is fetched (a FreeSWITCH "
        "sound)",
    )
    error_sound: str = _setting(
        "tone_stream://%(500,500,480,620);loops=3", _text,
        "played to the caller when the application's XML cannot be used (empty: hang up at once)",
    )
    xml_max_bytes: int = _setting(
        "1048576", _int_range(1024, 64 * 1024 * 1024), "largest XML document accepted"
    )
    xml_max_depth: int = _setting("32", _int_range(3, 1000), "deepest XML nesting accepted")
    dialect: str = _setting(
        "plivo", _dialect_name,
        "the face the application speaks: plivo (more as they are added; see README)",
    )
    number_dialects: Mapping[str, str] = _setting(
        "", _number_dialects, "per dialed number dialects: `1000=plivo, 2000=...`"
    )


@dataclass(frozen=True)
class RecordingSettings:
    directory: str = _setting(
        "./var/recordings", _nonempty,
        "where FreeSWITCH writes recordings (a path FreeSWITCH sees; the controller must "
        "see the same files to serve them)",
    )
    local_directory: str = _setting(
        "", _text,
        "where the controller reads those files if mounted elsewhere (default: directory)",
    )


@dataclass(frozen=True)
class MediaSettings:
    directory: str = _setting(
        "./var/media", _nonempty,
        "where downloaded <Play> files are cached, as FreeSWITCH sees the path",
    )
    local_directory: str = _setting(
        "", _text, "the same cache as the controller sees it, if mounted elsewhere "
        "(default: directory)",
    )
    max_bytes: int = _setting(
        "52428800", _int_range(1024, 1 << 31), "largest media file downloaded for <Play>"
    )
    cache_seconds: float = _setting(
        "300", _float_range(0, 86400 * 30), "how long a downloaded <Play> file is reused"
    )
    tts_engine: str = _setting(
        "flite", _nonempty, "FreeSWITCH TTS module used for <Speak> (mod_flite)"
    )
    tts_voice_woman: str = _setting("slt", _nonempty, "TTS voice for voice=\"WOMAN\"")
    tts_voice_man: str = _setting("rms", _nonempty, "TTS voice for voice=\"MAN\"")
    default_wait_sound: str = _setting(
        "", _text,
        "FreeSWITCH sound played to members waiting for a moderator when <Conference> has "
        "no waitSound (empty: silence)",
    )


@dataclass(frozen=True)
class WebhookSettings:
    connect_timeout: float = _setting("3", _float_range(0.1, 60), "seconds to connect")
    read_timeout: float = _setting(
        "10", _float_range(0.1, 300), "seconds to wait for a callback's reply"
    )
    fetch_timeout: float = _setting(
        "10", _float_range(0.1, 300),
        "seconds to wait for an answer/action/redirect document (never sent twice once it may "
        "have arrived)",
    )
    retries: int = _setting(
        "3", _int_range(0, 20),
        "retries for callbacks (connection errors and 5xx); documents retry only connection "
        "errors",
    )
    backoff: float = _setting("0.5", _float_range(0, 60), "first retry delay, doubled each time")
    pool_size: int = _setting("100", _int_range(1, 10000), "HTTP connections kept per host")
    delivery_processes: int = _setting(
        "0", _int_range(0, 64),
        "worker processes that send callbacks (HTTP, signing, retries) on other cores; 0: the "
        "controller sends them itself. The outbox, each call's order and the reports stay "
        "in the controller",
    )
    signing_secret: str = _setting(
        "", _text, "HMAC-SHA256 secret for the X-Conference-Signature header", secret=True
    )


@dataclass(frozen=True)
class DataSettings:
    directory: str = _setting(
        "./var/data", _nonempty,
        "where the controller keeps its state: the webhook outbox (outbox.sqlite3); one "
        "directory per controller",
    )


@dataclass(frozen=True)
class ApiSettings:
    username: str = _setting("", _text, "REST API basic-auth user")
    password: str = _setting("", _text, "REST API basic-auth password", secret=True)
    token: str = _setting("", _text, "REST API bearer token", secret=True)
    allow_unauthenticated: bool = _setting(
        "false", _bool, "local development only: serve the REST API without credentials"
    )
    idempotency_ttl: float = _setting(
        "86400", _float_range(1, 7 * 86400), "seconds an Idempotency-Key is remembered"
    )


@dataclass(frozen=True)
class TranscriptionSettings:
    engine: str = _setting(
        "", _text, "transcriber as `module:callable`; empty means none (callbacks carry an error)"
    )


@dataclass(frozen=True)
class PlivoSettings:
    auth_id: str = _setting(
        "", _text, "Plivo auth ID of the application (its account id); with auth_token the "
        "user name of the Plivo REST API under /v1/Account/{auth_id} (empty: REST API off)")
    auth_token: str = _setting(
        "", _text,
        "key of X-Plivo-Signature-V3 on every request (empty: no Plivo signature), and the "
        "Plivo REST API's basic-auth password", secret=True,
    )


@dataclass(frozen=True)
class CxmlSettings:
    account_sid: str = _setting(
        "", _text, "cXML (SignalWire/Twilio) AccountSid sent on every request; with auth_token "
        "the user name of the /2010-04-01 REST API (empty: REST API off)")
    auth_token: str = _setting(
        "", _text,
        "key of X-Twilio-Signature/X-SignalWire-Signature on every request and the REST API "
        "password (empty: no signature)", secret=True,
    )


@dataclass(frozen=True)
class TelnyxSettings:
    api_key: str = _setting(
        "", _text, "Telnyx face: the API key the application sends as `Authorization: Bearer` "
        "to /v2 (empty: the /v2 REST API is off)", secret=True)
    webhook_url: str = _setting(
        "", _http_url(optional=True), "Telnyx face: where call and conference webhooks go "
        "(a dialed call's own webhook_url wins)")
    signing_key: str = _setting(
        "", _ed25519_private_key, "Telnyx face: base64 Ed25519 private key that signs "
        "webhooks (telnyx-signature-ed25519); `conference-controller keys` prints its public "
        "key (empty: webhooks unsigned)", secret=True)


@dataclass(frozen=True)
class BxmlSettings:
    account_id: str = _setting(
        "", _text, "Bandwidth accountId: sent in every BXML webhook and the {accountId} of the "
        "/api/v2/accounts/{accountId} REST API")
    application_id: str = _setting("", _text, "Bandwidth applicationId sent in BXML call events")
    username: str = _setting(
        "", _text, "user name of the Bandwidth REST API (basic auth; empty: that API is off)")
    password: str = _setting("", _text, "password of the Bandwidth REST API", secret=True)


@dataclass(frozen=True)
class ClusterSettings:
    redis_url: str = _setting(
        "", _redis_url, "cluster: Redis shared by every controller (outbox, call journal, "
        "idempotency keys, room directory); empty: single node, embedded stores")
    node_id: str = _setting(
        "", _cluster_node_id, "cluster: this controller's name, unique in the cluster "
        "(empty: host name and HTTP port)")
    lease_seconds: float = _setting(
        "15", _float_range(2, 3600), "cluster: a controller silent this long is dead: the "
        "others deliver its outbox")
    key_prefix: str = _setting(
        "cc", _room_prefix, "cluster: prefix of every Redis key (several clusters, one Redis)")
    node_sip_addresses: tuple[tuple[str, str], ...] = _setting(
        "", _node_sip_addresses, "cluster: each FreeSWITCH node's SIP address, where a caller "
        "is moved when its room lives there, as node=sip_host:sip_port (node: host:port of "
        "[freeswitch] nodes), comma separated; empty: callers are not moved")
    move_profile: str = _setting(
        "internal", _sofia_profile, "cluster: the SIP profile a caller is moved through "
        "(bridge to sofia/<profile>/cc-room-<room>@<SIP address>)")


@dataclass(frozen=True)
class LogSettings:
    level: str = _setting(
        "INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR"), "log level (JSON lines on stderr)"
    )


@dataclass(frozen=True)
class Settings:
    freeswitch: FreeswitchSettings = field(default_factory=FreeswitchSettings)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    app: AppSettings = field(default_factory=AppSettings)
    recordings: RecordingSettings = field(default_factory=RecordingSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    data: DataSettings = field(default_factory=DataSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    transcription: TranscriptionSettings = field(default_factory=TranscriptionSettings)
    plivo: PlivoSettings = field(default_factory=PlivoSettings)
    cxml: CxmlSettings = field(default_factory=CxmlSettings)
    bxml: BxmlSettings = field(default_factory=BxmlSettings)
    telnyx: TelnyxSettings = field(default_factory=TelnyxSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    log: LogSettings = field(default_factory=LogSettings)

    @property
    def recordings_local_directory(self) -> str:
        return self.recordings.local_directory or self.recordings.directory

    @property
    def media_local_directory(self) -> str:
        return self.media.local_directory or self.media.directory

    def validate_security(self) -> None:
        """The REST API never runs open by accident."""
        api = self.api
        has_basic = bool(api.username and api.password)
        if bool(api.username) != bool(api.password):
            raise ConfigError(
                "api.username and api.password (CC_API_USERNAME, CC_API_PASSWORD) "
                "must be set together"
            )
        if not (has_basic or api.token or api.allow_unauthenticated):
            raise ConfigError(
                "the REST API needs credentials: set api.token (CC_API_TOKEN) or "
                "api.username + api.password, or api.allow_unauthenticated=true "
                "(CC_API_ALLOW_UNAUTHENTICATED) for local development"
            )


_SECTION_TYPES = {
    "freeswitch": FreeswitchSettings,
    "outbound": OutboundSettings,
    "http": HttpSettings,
    "app": AppSettings,
    "recordings": RecordingSettings,
    "media": MediaSettings,
    "webhooks": WebhookSettings,
    "data": DataSettings,
    "api": ApiSettings,
    "transcription": TranscriptionSettings,
    "plivo": PlivoSettings,
    "cxml": CxmlSettings,
    "bxml": BxmlSettings,
    "telnyx": TelnyxSettings,
    "cluster": ClusterSettings,
    "log": LogSettings,
}


def env_name(section: str, name: str) -> str:
    return f"{ENV_PREFIX}{section}_{name}".upper()


def describe_settings() -> list[tuple[str, str, str, str]]:
    """(ini key, env var, default, description) for every setting: the README table."""
    rows = []
    for section, cls in _SECTION_TYPES.items():
        for f in fields(cls):
            rows.append(
                (f"[{section}] {f.name}", env_name(section, f.name),
                 f.metadata["raw_default"], f.metadata["doc"])
            )
    return rows


def load_settings(
    path: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> Settings:
    """Read the INI file (if any), then the environment, then explicit overrides.

    ``path`` defaults to ``$CC_CONFIG``. Unknown sections or keys in the file are
    errors: a typo must not silently fall back to a default.
    """
    environ = os.environ if environ is None else environ
    path = path or environ.get(CONFIG_FILE_ENV) or None
    raw: dict[str, dict[str, tuple[str, str]]] = {s: {} for s in _SECTION_TYPES}

    if path:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with open(path, encoding="utf-8") as handle:
                parser.read_file(handle)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except configparser.Error as exc:
            raise ConfigError(f"config file {path} is not valid INI: {exc}") from None
        for section in parser.sections():
            if section not in _SECTION_TYPES:
                raise ConfigError(
                    f"{path}: unknown section [{section}]; known: "
                    + ", ".join(_SECTION_TYPES)
                )
            known = {f.name for f in fields(_SECTION_TYPES[section])}
            for key, value in parser.items(section):
                if key not in known:
                    raise ConfigError(
                        f"{path}: unknown setting [{section}] {key}; known: "
                        + ", ".join(sorted(known))
                    )
                raw[section][key] = (value, f"{path} [{section}] {key}")

    for section, cls in _SECTION_TYPES.items():
        for f in fields(cls):
            name = env_name(section, f.name)
            if name in environ:
                raw[section][f.name] = (environ[name], f"environment {name}")

    for section, values in (overrides or {}).items():
        for key, value in values.items():
            raw[section][key] = (str(value), f"override {section}.{key}")

    sections: dict[str, Any] = {}
    for section, cls in _SECTION_TYPES.items():
        kwargs = {}
        for f in fields(cls):
            if f.name not in raw[section]:
                continue
            value, origin = raw[section][f.name]
            try:
                kwargs[f.name] = f.metadata["parse"](value)
            except ValueError as exc:
                shown = "<hidden>" if f.metadata["secret"] else repr(value)
                raise ConfigError(
                    f"{section}.{f.name} ({origin}) = {shown}: {exc}"
                ) from None
        sections[section] = cls(**kwargs)
    settings = Settings(**sections)
    _check_dialects(settings, raw)
    return settings


def _check_dialects(settings: Settings, raw: Mapping[str, Mapping[str, tuple[str, str]]]) -> None:
    """Dialect names must name a registered face (known only once the faces load)."""
    from controller.dialects import names

    known = names()
    chosen = [("dialect", settings.app.dialect)]
    chosen += [("number_dialects", name) for name in settings.app.number_dialects.values()]
    for key, name in chosen:
        if name not in known:
            origin = raw["app"].get(key, ("", "default"))[1]
            raise ConfigError(f"app.{key} ({origin}): unknown dialect {name!r}; "
                              f"known: {', '.join(known)}")
