"""Replay every capture against the simulator and hold it to FreeSWITCH's bytes.

For each transcript in tests/data/captures (the fslog files excepted) the
same commands are sent at the same relative times and the SIPp phones are
re-enacted (scenarios.py). Then: every reply must match after narrow
normalisation (UUIDs, SIP ports, elapsed seconds); events must arrive in the
same order (Event-Name, or Action for conference events); each event must
carry the same header names in the same order; channel variables must match
by name except the SIP/RTP-stack ones listed in KNOWN_VARIABLE_GAPS; the
disconnect and linger notices and the socket close must match.
Remaining differences are listed in controller/sim/DIFFERENCES.md.
"""

from __future__ import annotations

import difflib

import pytest
from replay import Replay, Scenario, Side, header_names, reply_text, variable_names
from scenarios import SCENARIOS

# Variables a SIPp call leaves that the simulator does not produce (no RTP
# renegotiation): see DIFFERENCES.md "Channel variables".
KNOWN_VARIABLE_GAPS = {
    "variable_rtp_h_X-Broken-PTIME",
}
# Set when the phone's ACK arrives, which races the answer application's
# completion in FreeSWITCH too (capture 03c: alice's EXECUTE_COMPLETE(answer)
# lacks them, bob's has them).
RACY_VARIABLES = {"variable_sip_to_tag", "variable_sip_cseq"}


def _transcripts(captures_dir) -> list[str]:
    return sorted(
        p.name
        for p in captures_dir.glob("*.txt")
        if "fslog" not in p.name and p.name != "README.md"
    )


def test_every_transcript_has_a_scenario(captures_dir):
    missing = [name for name in _transcripts(captures_dir) if name not in SCENARIOS]
    assert not missing, f"captures without a replay scenario: {missing}"
    assert len(_transcripts(captures_dir)) == 24


def compare(scenario: Scenario, capture: Side, sim: Side, sent: list[bytes]) -> list[str]:
    problems: list[str] = []
    # 1. replies, in order, normalised
    cap_replies, sim_replies = capture.replies(), sim.replies()
    if len(cap_replies) != len(sim_replies):
        problems.append(f"{len(sim_replies)} replies, capture has {len(cap_replies)}")
    for n, (c, s) in enumerate(zip(cap_replies, sim_replies, strict=False)):
        command = sent[n] if n < len(sent) else b""
        want, got = reply_text(c, command), reply_text(s, command)
        if b"run_time" in command and c.body.isdigit() and s.body.isdigit():
            continue
        if want != got:
            diff = "\n".join(
                difflib.unified_diff(
                    want.splitlines(),
                    got.splitlines(),
                    lineterm="",
                    fromfile="capture",
                    tofile="simulator",
                    n=1,
                )
            )
            problems.append(f"reply #{n} to {command[:60]!r} differs:\n{diff}")
    # 2. event order
    cap_kinds = [e.kind for e in capture.events()]
    sim_kinds = [e.kind for e in sim.events()]
    if cap_kinds != sim_kinds:
        diff = "\n".join(
            difflib.unified_diff(
                cap_kinds, sim_kinds, lineterm="", fromfile="capture", tofile="simulator", n=2
            )
        )
        problems.append(f"event order differs:\n{diff}")
    # 3. header names (ordered) and 4. variable names, pairing events of a kind in order
    by_kind: dict[str, list] = {}
    for event in capture.events():
        by_kind.setdefault(event.kind, [[], []])[0].append(event)
    for event in sim.events():
        by_kind.setdefault(event.kind, [[], []])[1].append(event)
    for kind, (cap_events, sim_events) in by_kind.items():
        for n, (c, s) in enumerate(zip(cap_events, sim_events, strict=False)):
            if header_names(c) != header_names(s):
                diff = "\n".join(
                    difflib.unified_diff(
                        header_names(c),
                        header_names(s),
                        lineterm="",
                        fromfile="capture",
                        tofile="simulator",
                        n=1,
                    )
                )
                problems.append(f"{kind} #{n} headers differ:\n{diff}")
            missing = variable_names(c) - variable_names(s) - KNOWN_VARIABLE_GAPS - RACY_VARIABLES
            extra = variable_names(s) - variable_names(c) - RACY_VARIABLES
            if missing or extra:
                problems.append(
                    f"{kind} #{n} variables: missing {sorted(missing)}, extra {sorted(extra)}"
                )
    # 5. notices and close
    cap_notices = [(d, t, b) for d, t, b in capture.notices()]
    sim_notices = [(d, t, b) for d, t, b in sim.notices()]
    if cap_notices != sim_notices:
        problems.append(f"disconnect notices: capture {cap_notices}, simulator {sim_notices}")
    if capture.closed != sim.closed:
        problems.append(f"socket closed: capture {capture.closed}, simulator {sim.closed}")
    return problems


@pytest.mark.parametrize("capture", [name for name, sc in SCENARIOS.items() if sc is not None])
def test_capture_replay(capture, captures_dir, tmp_path):
    scenario = SCENARIOS[capture]
    replay = Replay(scenario, captures_dir, tmp_path)
    cap_main, sim_main, cap_kick, sim_kick = replay.run()
    sent = [r.data for r in replay.records if r.direction == "sent"]
    problems = compare(scenario, cap_main, sim_main, sent)
    if cap_kick is not None:
        kick_sent = [r.data for r in replay.kicker_records if r.direction == "sent"]
        problems += [f"[kicker] {p}" for p in compare(scenario, cap_kick, sim_kick, kick_sent)]
    assert not problems, "\n\n".join(problems)
