"""freeswitch-conf/ checked without a FreeSWITCH: well-formed XML, the pre-processor's
view of it, and every parameter name against the FreeSWITCH source.

FreeSWITCH reads freeswitch.xml through a line-based pre-processor before it parses
any XML (src/switch_xml.c: preprocess). ``render`` below follows that code: it runs
the include/set/env-set/exec-set/exec commands (exec and exec-set through /bin/sh,
as FreeSWITCH's popen/system does), expands double-dollar variables and drops the
lines FreeSWITCH drops. The rendered document is then parsed and inspected the way
the modules read it.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
from pathlib import Path

import pytest
from lxml import etree

CONF_DIR = Path(__file__).resolve().parents[2] / "freeswitch-conf"

# Parameter names compared against `var`/`name` in the module's config reader,
# extracted from the FreeSWITCH source (signalwire/freeswitch) and kept only when
# present at v1.10.10, v1.11.1 and the 1.11.3-dev tree (commit cc93a683), with
#   re.findall(r'str(?:case)?cmp\(\s*(?:var|name|param_name|key)\s*,\s*"([A-Za-z0-9_.-]+)"\s*\)')
# over: sofia.conf mod_sofia/sofia.c; conference.conf mod_conference/mod_conference.c;
# switch.conf src/switch_core.c; event_socket.conf mod_event_socket.c; console.conf
# mod_console.c; logfile.conf mod_logfile.c; opus.conf mod_opus.c; shout.conf
# mod_shout.c; local_stream.conf mod_local_stream.c; directory mod_sofia/sofia_reg.c
# + src/switch_xml.c. A superset (other string compares slip in), but a misspelt or
# invented parameter is not in it.
KNOWN_PARAMS_TEXT = {
    "sofia.conf": """
        3pcc-reinvite-bridged-on-ack 908-retry-seconds NDLB-allow-bad-iananame
        NDLB-allow-crypto-in-avp NDLB-allow-nondup-sdp NDLB-broken-auth-hash
        NDLB-expires-in-register-response NDLB-force-rport
        NDLB-proxy-never-patch-reinvites NDLB-received-in-nat-reg-contact
        NDLB-sendrecv-in-session NDLB-support-asterisk-missing-srtp-auth _undef_
        abort-on-empty-external-ip absolute-dial-string accept-blind-auth
        accept-blind-reg aggressive-nat-detection alias all all-reg-options-ping
        allow-update apply-candidate-acl apply-inbound-acl apply-inbound-acl-x-token
        apply-nat-acl apply-proxy-acl apply-proxy-acl-x-token apply-register-acl
        auth-all-packets auth-calls auth-calls-acl-only auth-messages auth-require-user
        auth-subscriptions auth-username auto-invite-100 auto-jitterbuffer-msec
        auto-restart auto-rtp-bugs bind-attempt-interval bind-attempts bind-params
        bitpacking blind-auth-reply-403 caller-id-in-from caller-id-type capture-server
        challenge-realm channel-xml-fetch-on-nightmare-transfer cid-in-1xx cng-pt
        codec-prefs confirm-blind-transfer contact-host contact-in-ping contact-params
        contact-user content-type context db-inner-post-trans-execute
        db-inner-pre-trans-execute db-post-trans-execute db-pre-trans-execute
        db-spin-up-wait-ms dbname debug debug-presence debug-sla default
        destination-prefix dial-prefix dialplan disable-auth-messages
        disable-auth-subscriptions disable-hold disable-naptr disable-register
        disable-rtp-auto-adjust disable-srv disable-srv503 disable-transcoding
        disable-transfer distinct-to dtmf-duration dtmf-type enable-100rel enable-3pcc
        enable-chat enable-compact-headers enable-rfc-5626 enable-soa enable-timer
        enforce-blind-auth-result expire-seconds ext-rtp-ip ext-sip-ip ext-sip-port
        extended-info-parsing extension extension-in-contact fire-bye-response-events
        fire-message-events fire-transfer-events force-publish-expires
        force-register-db-domain force-register-domain force-subscription-domain
        force-subscription-expires forward-unsolicited-mwi-notify from-domain from-user
        full-id-in-dialplan gw-auth-acl hold-music ignore-183nosdp in-dialog-chat
        inbound-bypass-media inbound-codec-negotiation inbound-codec-prefs
        inbound-late-negotiation inbound-no-media inbound-proxy-media
        inbound-reg-force-matching-username inbound-reg-in-new-thread
        inbound-use-callid-as-uuid iptsec keepalive-method liberal-dtmf
        local-network-acl log-auth-failures log-level make-every-transfer-a-nightmare
        manage-presence manage-shared-appearance manual-redirect manual-rtp-bugs
        manual-video-rtp-bugs max-auth-validity max-calls max-proceeding
        max-recv-requests-per-second max-reg-threads max-registrations-per-extension
        media-option minimum-session-expires multiple-registrations mwi-use-reg-callid
        nat-options-ping nea nonce-ttl nta nth_client nth_server nua odbc-dsn
        outbound-codec-prefs outbound-proxy outbound-use-uuid-as-callid
        p-asserted-id-parse parse-all-invite-headers parse-invite-tel-params
        pass-callee-id pass-rfc2833 password ping ping-max ping-mean-interval ping-min
        ping-monitoring ping-thread-frequency ping-user-agent pnp-provision-url
        presence-disable-early presence-hold-state presence-hosts presence-privacy
        presence-probe-on-register presence-proto-lookup profile-standby proxy
        proxy-hold proxy-info proxy-info-content-types proxy-message proxy-notify-events
        proxy-refer proxy-refer-replaces realm record-path record-template
        reg-deny-binding-fetch-and-no-lookup reg-id register register-proxy
        register-transport registration-thread-frequency require-secure-rtp
        retry-seconds retry_seconds reuse-connections rewrite-multicasted-fs-path
        rfc-5626 rfc-7989 rfc-7989-filter rfc-7989-force-old rfc2833-pt
        rfc8760-auth-algorithms rtcp-audio-interval-msec rtcp-video-interval-msec
        rtp-autofix-timing rtp-digit-delay rtp-hold-timeout-sec rtp-ip
        rtp-notimer-during-bridge rtp-rewrite-timestamps rtp-timeout-sec rtp-timer-name
        scheme send-display-update send-message-query-on-register
        send-presence-on-register session-timeout shutdown-on-fail sip-capture
        sip-domain sip-expires-late-margin sip-expires-max-deviation sip-force-expires
        sip-force-expires-max sip-force-expires-min sip-ip sip-messages-respond-200-ok
        sip-options-respond-503-on-busy sip-port sip-profile
        sip-subscribe-respond-200-ok sip-subscription-max-deviation sip-trace sip-url
        sip-user-ping-max sip-user-ping-min soa socket-tcp-keepalive sresolv
        stir-shaken-as-key stir-shaken-as-url stir-shaken-vs-ca-dir
        stir-shaken-vs-cert-path-check stir-shaken-vs-require-date stun suppress-cng
        supress-cng t38-passthru tcp-always-nat tcp-keepalive tcp-ping2pong tcp-pingpong
        tcp-unreg-on-socket-close timeout-seconds timer-T1 timer-T1X64 timer-T2 timer-T4
        tls tls-always-nat tls-bind-params tls-cert-dir tls-ciphers tls-only
        tls-orq-connect-timeout tls-passphrase tls-sip-port tls-timeout tls-verify-date
        tls-verify-depth tls-verify-in-subjects tls-verify-policy tls-version tport
        tracelevel track-calls unregister-on-options-fail update-refresher
        use-port-for-acl-check user-agent-filter user-agent-string username
        username-in-request vad watchdog-enabled watchdog-event-timeout
        watchdog-step-timeout ws-binding wss-binding
    """,
    "conference.conf": """
        alone-sound announce-count auto-energy-level auto-energy-seconds
        auto-gain-change-factor auto-gain-level auto-gain-low-energy-level
        auto-gain-margin auto-gain-period-len auto-record bad-pin-sound blind-sound
        broadcast-chat-messages caller-controls caller-id-name caller-id-number
        cdr-event-mode cdr-log-dir channels comfort-noise conference-flags deaf-sound
        description domain endconf-grace-time energy-level enter-sound exit-sound
        heartbeat-period-sec interval is-locked-sound is-unlocked-sound ivr-dtmf-timeout
        ivr-input-timeout kicked-sound locked-sound max-energy-hit-trigger
        max-energy-level max-energy-level-mute-ms max-members max-members-sound
        member-enter-sound member-flags min-required-recording-participants
        moderator-controls moderator-pin moh-sound mute-detect-sound muted-sound
        outcall-templ perpetual-sound pin pin-retries pin-sound rate recording-metadata
        scale-h264-canvas-bandwidth scale-h264-canvas-fps-divisor scale-h264-canvas-size
        sound-prefix suppress-events terminate-on-silence timer-name tts-engine
        tts-voice unblind-sound undeaf-sound unmuted-sound verbose-events
        video-auto-floor-msec video-border-color video-border-size video-canvas-bgcolor
        video-canvas-count video-canvas-size video-codec-bandwidth
        video-codec-config-profile-name video-fps video-kps-debounce video-layout-conf
        video-layout-name video-letterbox-bgcolor video-mode video-mute-banner
        video-no-video-avatar video-quality video-super-canvas-bgcolor
        video-super-canvas-label-layers video-super-canvas-show-all-layers
    """,
    "switch.conf": """
        1ms-timer G723 api-expansion auto-clear-sql auto-create-schemas
        caller-profile-soft-lookup-values caller-profile-soft-variables-uses-prefix
        colorize-console core-db-dsn core-db-inner-post-trans-execute
        core-db-inner-pre-trans-execute core-db-name core-db-post-trans-execute
        core-db-pre-trans-execute core-dbtype core-non-sqlite-db-required
        cpu-idle-smoothing-depth db-handle-timeout debug-level default-dtmf-duration
        dialplan-timestamps dump-cores enable-clock-nanosleep enable-cond-yield
        enable-early-hangup enable-monotonic-timing enable-softtimer-timerfd
        enable-timer-matrix enable-use-system-time
        event-channel-enable-hierarchy-deliver event-channel-hierarchy-deliver-once
        event-channel-key-separator event-channel-log-undeliverable-json
        event-heartbeat-interval events-use-dispatch exclude-error-log-from-xml-cdr iLBC
        ice-resolve-candidate initial-event-threads loglevel mailer-app mailer-app-args
        max-audio-channels max-db-handles max-dtmf-duration max-sessions
        min-dtmf-duration min-idle-cpu multiple-registrations odbc-skip-autocommit-flip
        opus rtp-end-port rtp-port-usage-robustness rtp-retain-crypto-keys
        rtp-start-port session-thread-pool sessions-per-second spawn-instead-of-system
        switchname threaded-system-exec timer-affinity tipping-point
        verbose-channel-events
    """,
    "event_socket.conf": """
        apply-inbound-acl content-length debug esl-allowed-api esl-allowed-events
        esl-allowed-log esl-password listen-ip listen-port nat-map password
        stop-on-bind-error
    """,
    "console.conf": """
        all colorize custom-field-prefix file function host ident json level line
        loglevel message pid sequence short-message timestamp timestamp-divisor uuid
    """,
    "logfile.conf": """
        all logfile maximum-rotate rollover rotate-on-hup uuid
    """,
    "opus.conf": """
        adjust-bitrate advertise-useinbandfec asymmetric-sample-rates
        bitrate-negotiation complexity keep-fec-enabled maxaveragebitrate
        maxplaybackrate mono packet-loss-percent sprop-maxcapturerate use-dtx
        use-jb-lookahead use-vbr
    """,
    "shout.conf": """
        decoder encode-brate encode-quality encode-resample outscale volume
    """,
    "local_stream.conf": """
        auto-volume auto-volume-low-point blank-img channels chime-freq chime-list
        chime-max interval logo-always logo-img logo-opacity logo-position prebuf rate
        shuffle text-opacity timer-name volume
    """,
    "directory": """
        a1-hash algorithm allow-empty-password auth-acl cnonce first-only id
        max-registrations-per-extension mwi-account nc nonce password qop realm
        register-gateway response reverse-auth-pass reverse-auth-user
        sip-forbid-register uri user-agent-filter username
    """,
}
KNOWN_PARAMS = {conf: set(text.split()) for conf, text in KNOWN_PARAMS_TEXT.items()}

# Every module a loaded module or the core reads its settings from.
CORE_CONFIGS = {"switch.conf", "acl.conf", "modules.conf", "pre_load_modules.conf",
                "post_load_modules.conf"}
MODULE_CONFIGS = {
    "mod_console": "console.conf",
    "mod_logfile": "logfile.conf",
    "mod_sofia": "sofia.conf",
    "mod_event_socket": "event_socket.conf",
    "mod_conference": "conference.conf",
    "mod_local_stream": "local_stream.conf",
    "mod_shout": "shout.conf",
    "mod_opus": "opus.conf",
}
REQUIRED_MODULES = [
    "mod_console", "mod_logfile", "mod_sofia", "mod_event_socket", "mod_conference",
    "mod_dptools", "mod_commands", "mod_dialplan_xml", "mod_sndfile", "mod_native_file",
    "mod_tone_stream", "mod_local_stream", "mod_loopback", "mod_say_en",
]
OPTIONAL_MODULES = ["mod_opus", "mod_shout", "mod_flite"]
PREPROCESS_LINE = re.compile(
    r'^\s*<X-PRE-PROCESS cmd="(set|env-set|exec-set|exec|include)" data="[^"]*"/>\s*$'
)


# ------------------------------------------------------------ the pre-processor


class Rendered:
    """The document FreeSWITCH would parse, and the global variables it set."""

    def __init__(self, text: str, variables: dict[str, str], undefined: set[str]):
        self.text = text
        self.variables = variables
        self.undefined = undefined
        self.root = etree.fromstring(text.encode())

    def configuration(self, name: str):
        found = self.root.xpath("section[@name='configuration']/configuration[@name=$n]", n=name)
        assert len(found) == 1, f"{len(found)} <configuration name={name!r}> in the document"
        return found[0]

    def params(self, element) -> dict[str, str]:
        return {p.get("name"): p.get("value") for p in element.iter("param")}


def render(tmp_path: Path, env: dict[str, str], installed: tuple[str, ...] = ()) -> Rendered:
    mod_dir = tmp_path / "mod"
    mod_dir.mkdir(exist_ok=True)
    for module in installed:
        (mod_dir / f"{module}.so").write_bytes(b"")
    variables = {  # what the core sets before it reads the XML (src/switch_core.c)
        "local_ip_v4": "192.0.2.10",
        "conf_dir": str(CONF_DIR),
        "mod_dir": str(mod_dir),
        "log_dir": "/var/log/freeswitch",
        "recordings_dir": "/var/lib/freeswitch/recordings",
        "sounds_dir": "/usr/share/freeswitch/sounds",
    }
    shell_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    undefined: set[str] = set()
    out: list[str] = []

    def expand(line: str) -> str:
        def value(match: re.Match) -> str:
            if match.group(1) not in variables:
                undefined.add(match.group(1))
            return variables.get(match.group(1), "")

        return re.sub(r"\$\$\{([^}]*)\}", value, line)

    def key_value(text: str) -> tuple[str, str | None]:
        key, sep, val = text.partition("=")
        return key.strip(), (val.strip(" ") if sep else None)

    def run(command: str) -> str:
        return subprocess.run(["/bin/sh", "-c", command], env=shell_env, capture_output=True,
                              text=True, timeout=10, check=False).stdout

    def preprocess(path: Path) -> None:
        for raw in path.read_text().splitlines(keepends=True):
            line = expand(raw)
            if "<include>" in raw or "</include>" in raw or "<?" in raw:
                continue
            assert "<!--#" not in line, f"{path}: <!--# commands are not emulated"
            at = line.lower().find("x-pre-process")
            if at >= 0:
                if at == 0 or line[at - 1] != "<":
                    continue  # FreeSWITCH drops the whole line
                cmd = re.search(r'cmd\s*=\s*"([^"]*)"', line[at:]).group(1)
                data = re.search(r'data\s*=\s*"([^"]*)"', line[at:]).group(1)
                if cmd == "set":
                    key, val = key_value(data)
                    if val is not None:
                        variables[key] = val
                elif cmd == "env-set":
                    key, _, val = data.partition("=")
                    if val.startswith("$") and val[1:] in env:
                        variables[key] = env[val[1:]]
                elif cmd == "exec-set":
                    key, val = key_value(data)
                    output = run(val)
                    if output:
                        variables[key] = output.rstrip(" \n")
                elif cmd == "exec":
                    out.append(run(data))
                elif cmd == "include":
                    pattern = data if data.startswith("/") else str(path.parent / data)
                    for match in sorted(glob.glob(pattern)):
                        preprocess(Path(match))
                continue
            out.append(line)

    preprocess(CONF_DIR / "freeswitch.xml")
    return Rendered("".join(out), variables, undefined)


FULL_ENV = {
    "FS_ESL_PASSWORD": "esl-secret",
    "FS_SIP_PASSWORD": "sip-secret",
    "FS_SIP_DOMAIN": "conference.test",
    "FS_SIP_PORT": "5070",
    "FS_SIP_IP": "192.0.2.20",
    "FS_EXTERNAL_IP": "198.51.100.7",
    "FS_RTP_START_PORT": "20000",
    "FS_RTP_END_PORT": "20098",
    "FS_ESL_LISTEN_IP": "127.0.0.1",
    "FS_ESL_LISTEN_PORT": "8022",
    "FS_ESL_ALLOWED_CIDRS": "127.0.0.0/8,10.9.0.0/16",
    "FS_CONTROLLER_HOST": "host.docker.internal",
    "FS_CONTROLLER_PORT": "9084",
    "FS_CONFERENCE_RATE": "16000",
    "FS_CODECS": "PCMA",
    "FS_LOG_LEVEL": "notice",
}


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Rendered:
    return render(tmp_path_factory.mktemp("full"), FULL_ENV, installed=tuple(OPTIONAL_MODULES))


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> Rendered:
    return render(tmp_path_factory.mktemp("bare"), {})


# ------------------------------------------------------------------ the files


def test_every_xml_file_is_well_formed():
    files = sorted(CONF_DIR.rglob("*.xml"))
    assert len(files) >= 15
    for path in files:
        try:
            etree.parse(str(path))
        except etree.XMLSyntaxError as exc:
            pytest.fail(f"{path.relative_to(CONF_DIR)} is not well-formed: {exc}")


def test_preprocessor_sees_only_whole_command_lines():
    # The pre-processor works on raw lines, comments included: a command must be
    # alone on its line, and no other line (a comment) may spell the command's
    # name, or FreeSWITCH silently drops that line.
    for path in sorted(CONF_DIR.rglob("*.xml")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.relative_to(CONF_DIR)}:{number}"
            if "x-pre-process" in line.lower():
                assert PREPROCESS_LINE.match(line), f"{where}: not a lone command line"
            if "<include>" in line or "</include>" in line:
                assert line.strip() in ("<include>", "</include>"), f"{where}: dropped line"
            if "<?" in line:
                assert number == 1 and line.startswith("<?xml"), f"{where}: dropped line"


def test_shell_scripts_parse():
    for script in sorted((CONF_DIR / "scripts").glob("*.sh")):
        result = subprocess.run(["/bin/sh", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"


# ------------------------------------------------------ the rendered document


@pytest.mark.parametrize("name", ["full", "bare"])
def test_rendered_document_parses_with_every_variable_defined(name, request):
    rendered: Rendered = request.getfixturevalue(name)
    assert rendered.undefined == set()
    assert rendered.root.tag == "document"
    sections = [s.get("name") for s in rendered.root.findall("section")]
    assert sections == ["configuration", "dialplan", "directory"]
    for param in rendered.root.iter("param"):
        assert param.get("value"), f"param {param.get('name')} renders empty"


def test_every_module_finds_its_configuration(full: Rendered):
    loaded = [e.get("module") for e in full.configuration("modules.conf").iter("load")]
    assert loaded[:2] == ["mod_console", "mod_logfile"], "loggers first"
    assert set(REQUIRED_MODULES) <= set(loaded)
    assert len(loaded) == len(set(loaded)), f"a module is loaded twice: {loaded}"
    names = {c.get("name") for c in full.root.iter("configuration")}
    needed = CORE_CONFIGS | {MODULE_CONFIGS[m] for m in loaded if m in MODULE_CONFIGS}
    assert needed <= names, f"missing configuration: {sorted(needed - names)}"


def test_optional_modules_are_loaded_only_when_installed(tmp_path):
    def loaded(installed: tuple[str, ...]) -> list[str]:
        rendered = render(tmp_path, {"FS_ESL_PASSWORD": "x", "FS_SIP_PASSWORD": "y"}, installed)
        return [e.get("module") for e in rendered.configuration("modules.conf").iter("load")]

    assert not set(OPTIONAL_MODULES) & set(loaded(()))
    with_opus = loaded(("mod_opus",))
    assert "mod_opus" in with_opus and "mod_shout" not in with_opus
    assert set(OPTIONAL_MODULES) <= set(loaded(tuple(OPTIONAL_MODULES)))


def test_param_names_exist_in_freeswitch_source(full: Rendered):
    checked = 0
    for conf, known in KNOWN_PARAMS.items():
        if conf == "directory":
            scope = full.root.xpath("section[@name='directory']")[0]
        else:
            scope = full.configuration(conf)
        for param in scope.iter("param"):
            assert param.get("name") in known, f"{conf}: unknown param {param.get('name')!r}"
            checked += 1
    assert checked >= 40


def test_environment_sets_every_address_port_and_secret(full: Rendered):
    esl = full.params(full.configuration("event_socket.conf"))
    assert (esl["listen-ip"], esl["listen-port"], esl["password"]) == (
        "127.0.0.1", "8022", "esl-secret")
    acl = full.configuration("acl.conf").xpath("network-lists/list[@name=$n]",
                                                n=esl["apply-inbound-acl"])
    assert acl and acl[0].get("default") == "deny"
    assert acl[0].find("node").attrib == {"type": "allow", "cidr": "127.0.0.0/8,10.9.0.0/16"}

    switch = full.params(full.configuration("switch.conf"))
    assert (switch["rtp-start-port"], switch["rtp-end-port"]) == ("20000", "20098")
    assert switch["loglevel"] == "notice"

    profile = full.configuration("sofia.conf").xpath("profiles/profile")
    assert len(profile) == 1
    sip = full.params(profile[0])
    assert sip["sip-port"] == "5070"
    assert sip["ext-sip-ip"] == sip["ext-rtp-ip"] == "198.51.100.7"
    assert sip["sip-ip"] == sip["rtp-ip"] == "192.0.2.20"
    assert sip["inbound-codec-prefs"] == "PCMA"
    assert (sip["dtmf-type"], sip["rfc2833-pt"]) == ("rfc2833", "101")
    assert sip["auth-calls"] == "true"

    conference = full.params(full.configuration("conference.conf").find("profiles/profile"))
    assert conference["rate"] == "16000"

    socket = full.root.xpath("//action[@application='socket']")[0]
    assert socket.get("data") == "host.docker.internal:9084 async full"

    domain = full.root.xpath("section[@name='directory']/domain")[0]
    assert domain.get("name") == "conference.test" == sip["force-register-domain"]
    assert full.params(domain)["password"] == "sip-secret"
    assert "api_on_startup" not in full.variables, "no CRIT line when the secrets are set"


def test_defaults_work_for_docker_compose(bare: Rendered):
    esl = bare.params(bare.configuration("event_socket.conf"))
    assert (esl["listen-ip"], esl["listen-port"]) == ("0.0.0.0", "8021")
    switch = bare.params(bare.configuration("switch.conf"))
    assert (switch["rtp-start-port"], switch["rtp-end-port"]) == ("16384", "16482")
    sip = bare.params(bare.configuration("sofia.conf").find("profiles/profile"))
    assert (sip["sip-port"], sip["sip-ip"], sip["ext-rtp-ip"]) == ("5060", "192.0.2.10",
                                                                   "192.0.2.10")
    socket = bare.root.xpath("//action[@application='socket']")[0]
    assert socket.get("data") == "controller:8084 async full"


@pytest.mark.parametrize("env", [{}, {"FS_ESL_PASSWORD": "", "FS_SIP_PASSWORD": ""}])
def test_missing_secrets_fail_closed_with_one_crit_line(tmp_path, env):
    rendered = render(tmp_path, env)
    esl_password = rendered.params(rendered.configuration("event_socket.conf"))["password"]
    domain = rendered.root.xpath("section[@name='directory']/domain")[0]
    phone_password = rendered.params(domain)["password"]
    for secret in (esl_password, phone_password):
        assert re.fullmatch(r"[0-9a-f]{32}", secret), secret
    assert esl_password != phone_password
    startup = rendered.variables["api_on_startup"]
    assert startup.startswith("log CRIT ")
    assert "FS_ESL_PASSWORD" in startup and "FS_SIP_PASSWORD" in startup
    assert ";;" not in startup  # the console would split the command there


def test_one_missing_secret_is_named_alone(tmp_path):
    rendered = render(tmp_path, {"FS_ESL_PASSWORD": "set"})
    startup = rendered.variables["api_on_startup"]
    assert "FS_SIP_PASSWORD" in startup and "FS_ESL_PASSWORD" not in startup


def test_sip_profile_leads_to_the_dialplan_and_the_directory(full: Rendered):
    sip = full.params(full.configuration("sofia.conf").find("profiles/profile"))
    contexts = full.root.xpath("section[@name='dialplan']/context/@name")
    assert sip["context"] in contexts
    domain = full.root.xpath("section[@name='directory']/domain")[0]
    users = [u.get("id") for u in domain.iter("user")]
    assert users == [str(n) for n in range(1000, 1020)]
    variables = {v.get("name"): v.get("value") for v in domain.iter("variable")}
    assert variables["user_context"] == sip["context"]
    assert "effective_caller_id_number" not in variables  # the phone's From is the caller ID


def test_every_dialed_number_goes_to_the_controller_then_a_tone(full: Rendered):
    context = full.root.xpath("section[@name='dialplan']/context[@name='phones']")[0]
    extensions = [e for e in context.findall("extension") if e.get("name") != BENCH_EXTENSION]
    assert len(extensions) == 1
    condition = extensions[0].find("condition")
    assert condition.get("field") == "destination_number"
    pattern = re.compile(condition.get("expression"))
    for number in ("1000", "2001", "5000", "*97", "lobby"):
        assert pattern.search(number), number
    actions = [(a.get("application"), a.get("data")) for a in condition.findall("action")]
    apps = [app for app, _ in actions]
    assert "answer" not in apps, "the controller answers the call itself (capture 05a)"
    sockets = [i for i, app in enumerate(apps) if app == "socket"]
    # Twice: a call whose controller connection was lost is picked up again (cc_resume).
    assert len(sockets) == 2 and sockets[1] == sockets[0] + 1
    assert actions[sockets[0]] == actions[sockets[1]]
    after = actions[sockets[1] + 1:]
    assert [app for app, _ in after if app != "log"] == ["playback", "hangup"]
    playback = dict(after)["playback"]
    assert playback.startswith("tone_stream://")
    assert dict(after)["hangup"] == "NORMAL_TEMPORARY_FAILURE"
    # The simulator's product dialplan is this one.
    from controller.sim.dialplan import PRODUCT_TAIL

    assert [(app, data) for app, data in after if app != "log"] == PRODUCT_TAIL


def test_conference_profile_needs_no_sound_files(full: Rendered):
    profiles = full.configuration("conference.conf").findall("profiles/profile")
    assert [p.get("name") for p in profiles] == ["default"]
    params = full.params(profiles[0])
    for name, value in params.items():
        if name.endswith("-sound") or name == "sound-prefix":
            assert value.startswith(("tone_stream://", "silence_stream://")), name
    assert "wait-mod" not in params, "ignored by FreeSWITCH (captures 03b1/03b2)"
    assert params["caller-controls"] == "none"
    assert params["energy-level"] == "100" and params["comfort-noise"] == "true"
    assert params["verbose-events"] == "false"
    for action in full.root.xpath("//action[@application='playback']"):
        assert action.get("data").startswith(("tone_stream://", "silence_stream://"))


# ------------------------------------------- docker/ agrees with the config


DOCKER_DIR = CONF_DIR.parent / "docker"


def compose_with(env: dict[str, str], name: str = "compose.yaml") -> dict:
    """A docker/ compose file with ${VAR:-default} / ${VAR:?error} filled from env."""
    yaml = pytest.importorskip("yaml")

    def fill(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"compose requires {name}: {arg}")
        return arg or ""

    text = (DOCKER_DIR / name).read_text()
    return yaml.safe_load(re.sub(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}", fill, text))


def test_compose_requires_the_secrets():
    with pytest.raises(KeyError, match="FS_ESL_PASSWORD"):
        compose_with({})


def test_compose_matches_freeswitch_conf_and_controller_settings(bare: Rendered):
    compose = compose_with({"FS_ESL_PASSWORD": "e", "FS_SIP_PASSWORD": "s", "CC_API_TOKEN": "t"})
    services = compose["services"]
    assert set(services) == {"freeswitch", "controller", "example-app"}
    fs, controller = services["freeswitch"], services["controller"]

    # Every FS_* variable compose passes is one the configuration reads.
    read_by_conf = set(re.findall(r"FS_[A-Z_]+", (CONF_DIR / "vars.xml").read_text()))
    assert set(fs["environment"]) <= read_by_conf

    # The RTP range is the configured one; Docker publishes it up to the last RTP port's
    # RTCP port (end + 1, see test_rtp_port_range_is_even), and the image exposes that.
    start, end = fs["environment"]["FS_RTP_START_PORT"], fs["environment"]["FS_RTP_END_PORT"]
    switch = bare.params(bare.configuration("switch.conf"))
    assert (start, end) == (switch["rtp-start-port"], switch["rtp-end-port"])
    last = int(end) + 1
    assert any(p.endswith(f":{start}-{last}:{start}-{last}/udp") for p in fs["ports"])
    dockerfile = (DOCKER_DIR / "freeswitch" / "Dockerfile").read_text()
    assert f"{start}-{last}/udp" in dockerfile
    assert any(p.endswith(":5060:5060/udp") for p in fs["ports"])
    assert any(p.endswith(":5060:5060/tcp") for p in fs["ports"])
    esl_ports = [p for p in fs["ports"] if p.endswith(":8021/tcp")]
    assert esl_ports and all(p.startswith("127.0.0.1:") for p in esl_ports), \
        "the Event Socket is published on loopback only"

    # The controller's settings exist, and its ESL password is FreeSWITCH's.
    from controller.config import describe_settings

    known = {env for _, env, _, _ in describe_settings()}
    assert set(controller["environment"]) <= known, set(controller["environment"]) - known
    assert controller["environment"]["CC_FREESWITCH_ESL_PASSWORD"] == \
        fs["environment"]["FS_ESL_PASSWORD"]
    assert controller["environment"]["CC_FREESWITCH_ESL_HOST"] == "freeswitch"
    assert fs["environment"]["FS_CONTROLLER_HOST"] == "controller"
    assert controller["environment"]["CC_OUTBOUND_LISTEN_PORT"] == \
        fs["environment"]["FS_CONTROLLER_PORT"]

    # Recordings and media: one volume each, the same path on both sides.
    def mounts(service: dict) -> dict[str, str]:
        return dict(v.split(":")[:2] for v in service["volumes"])

    assert mounts(fs) == mounts(controller)
    paths = mounts(controller)
    assert controller["environment"]["CC_RECORDINGS_DIRECTORY"] == paths["recordings"]
    assert controller["environment"]["CC_MEDIA_DIRECTORY"] == paths["media"]
    for name in ("freeswitch", "example-app"):
        assert controller["depends_on"][name]["condition"] == "service_healthy"


def test_integration_compose_puts_freeswitch_on_loopback_with_host_dirs():
    env = {"FS_ESL_PASSWORD": "e", "FS_SIP_PASSWORD": "s", "FS_RECORDINGS_DIR": "/r",
           "FS_MEDIA_DIR": "/m", "CC_OUTBOUND_LISTEN_PORT": "9999"}
    compose = compose_with(env, "compose.integration.yaml")
    assert set(compose["services"]) == {"freeswitch"}
    fs = compose["services"]["freeswitch"]
    assert fs["network_mode"] == "host"
    read_by_conf = set(re.findall(r"FS_[A-Z_]+", (CONF_DIR / "vars.xml").read_text()))
    assert set(fs["environment"]) <= read_by_conf
    assert fs["environment"]["FS_CONTROLLER_PORT"] == "9999"
    assert {v.split(":")[0] for v in fs["volumes"]} == {"/r", "/m"}
    with pytest.raises(KeyError, match="FS_RECORDINGS_DIR"):
        compose_with({"FS_ESL_PASSWORD": "e", "FS_SIP_PASSWORD": "s"},
                     "compose.integration.yaml")


def test_dockerfiles_have_healthchecks_and_pinned_freeswitch():
    fs = (DOCKER_DIR / "freeswitch" / "Dockerfile").read_text()
    assert re.search(r"ARG FREESWITCH_VERSION=1\.1[01]\.\d+", fs)
    assert '"freeswitch~${FREESWITCH_VERSION}"' in fs
    assert "COPY freeswitch-conf/ /etc/freeswitch/" in fs
    for path in ("freeswitch", "controller", "example-app"):
        text = (DOCKER_DIR / path / "Dockerfile").read_text()
        assert "HEALTHCHECK" in text, f"{path}: no HEALTHCHECK"
    assert "/healthz" in (DOCKER_DIR / "controller" / "Dockerfile").read_text()
    assert "conference-controller" in (DOCKER_DIR / "controller" / "Dockerfile").read_text()


def test_freeswitch_entrypoint_refuses_to_start_without_secrets(tmp_path):
    entrypoint = DOCKER_DIR / "freeswitch" / "entrypoint.sh"
    result = subprocess.run(["/bin/sh", str(entrypoint), "true"], capture_output=True,
                            text=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert result.returncode == 64
    assert "FS_ESL_PASSWORD FS_SIP_PASSWORD" in result.stderr


# ------------------------------------------------------ modules that refuse to load


def test_local_stream_has_a_stream_so_the_module_loads(full: Rendered, bare: Rendered):
    # mod_local_stream_load returns SWITCH_STATUS_GENERR ("Error Loading module" at CRIT on
    # every start) when launch_streams(NULL) started no stream, i.e. when local_stream.conf
    # has no <directory> child; each <directory> needs name and path, which launch_thread
    # copies (src/mod/formats/mod_local_stream/mod_local_stream.c, v1.11.1).
    for rendered in (full, bare):
        directories = rendered.configuration("local_stream.conf").findall("directory")
        assert directories, "mod_local_stream refuses to load without a <directory>"
        for directory in directories:
            assert directory.get("name"), "a stream needs a name"
            # A path the core creates at start-up (switch_core_init), so the stream
            # thread does not log "Can't open directory" at every start.
            assert directory.get("path") == rendered.variables["sounds_dir"]


def test_rtp_port_range_is_even(full: Rendered, bare: Rendered):
    # switch_rtp_request_port allocates with SPF_EVEN; switch_core_port_allocator_new then
    # logs "Rounding odd start/end port" at WARNING and moves an odd end down by one
    # (src/switch_core_port_allocator.c). RTCP takes the odd port above each RTP port.
    for rendered in (full, bare):
        switch = rendered.params(rendered.configuration("switch.conf"))
        start, end = int(switch["rtp-start-port"]), int(switch["rtp-end-port"])
        assert start % 2 == 0, f"rtp-start-port {start} is odd: FreeSWITCH rounds it"
        assert end % 2 == 0, f"rtp-end-port {end} is odd: FreeSWITCH rounds it"
        assert 1024 < start < end < 65535


# ------------------------------------------------ benchmark-only direct join

BENCH_EXTENSION = "bench-direct-join"


def _bench_extension(rendered: Rendered):
    context = rendered.root.xpath("section[@name='dialplan']/context[@name='phones']")[0]
    extensions = context.findall("extension")
    assert extensions[0].get("name") == BENCH_EXTENSION, "it must come before the catch-all"
    return extensions[0]


def _dialplan_route(rendered: Rendered, number: str) -> list[tuple[str, str]]:
    """The actions mod_dialplan_xml would run for ``number`` (conditions in order; a
    ``${var}`` field is the global variable, as it expands at call time)."""
    context = rendered.root.xpath("section[@name='dialplan']/context[@name='phones']")[0]
    for extension in context.findall("extension"):
        matched = None
        for condition in extension.findall("condition"):
            field = condition.get("field")
            if field.startswith("${") and field.endswith("}"):
                value = rendered.variables.get(field[2:-1], "")
            else:
                assert field == "destination_number", field
                value = number
            matched = re.search(condition.get("expression"), value)
            if not matched:
                break
        if matched:
            actions = extension.find("condition[last()]").findall("action")
            return [(a.get("application"), matched.expand((a.get("data") or "")
                                                          .replace("\\", "\\\\")
                                                          .replace("$", "\\")))
                    for a in actions]
    return []


def test_direct_join_extension_is_off_by_default(bare: Rendered, full: Rendered):
    for rendered in (bare, full):
        assert rendered.variables["bench_direct_join"] == "false"
        _bench_extension(rendered)
        route = _dialplan_route(rendered, "direct-room1")
        assert ("answer", "") not in route
        assert [app for app, _ in route if app == "socket"] == ["socket", "socket"]


def test_direct_join_extension_joins_the_room_when_enabled(tmp_path):
    rendered = render(tmp_path, {"FS_ESL_PASSWORD": "e", "FS_SIP_PASSWORD": "s",
                                 "FS_BENCH_DIRECT_JOIN": "true"})
    assert _dialplan_route(rendered, "direct-bench.r1") == [
        ("answer", ""), ("conference", "bench.r1@default")]
    # Other numbers still go to the controller; a room name outside the application's
    # alphabet is no direct join either.
    for number in ("1000", "direct-", "direct-a b"):
        assert "socket" in [app for app, _ in _dialplan_route(rendered, number)], number
    profiles = [p.get("name") for p in
                rendered.configuration("conference.conf").findall("profiles/profile")]
    assert "default" in profiles
