"""What the SIPp phones did in each capture (captures README + the timelines).

Times are the capture's seconds from its first frame. A phone's speech is
started just before its start-talking event and stopped 0.8 s (the 40-frame
hangover) before its stop-talking event; a BYE just before its del-member;
DTMF so that the digit's last packet lands just before its DTMF event.
"""

from __future__ import annotations

from replay import Scenario, Step

from controller.sim.config import DEFAULT_PROFILES

# 03b1's profile: the waitmod profile with the ignored `wait-mod` param in place of
# `conference-flags`.
WAITMOD_IGNORED = {
    **DEFAULT_PROFILES,
    "waitmod": {
        **{k: v for k, v in DEFAULT_PROFILES["waitmod"].items() if k != "conference-flags"},
        "wait-mod": "true",
    },
}


def call(at: float, who: str, number: str) -> Step:
    return Step(at, who, "call", number)


def talk(at: float, who: str) -> Step:
    return Step(at, who, "talk")


def quiet(stop_talking_at: float, who: str) -> Step:
    return Step(stop_talking_at - 0.82, who, "quiet")


def bye(at: float, who: str) -> Step:
    return Step(at, who, "bye")


def dtmf(event_at: float, who: str, digit: str) -> Step:
    return Step(event_at - 0.30, who, "dtmf", digit)


SCENARIOS: dict[str, Scenario] = {
    "01_conference_lifecycle_two_members.txt": Scenario(
        "01_conference_lifecycle_two_members.txt",
        first_member_id=50,
        steps=[
            call(0.10, "alice", "direct-roomA"),
            talk(0.89, "alice"),
            call(1.59, "bob", "direct-roomA"),
            talk(2.39, "bob"),
            bye(7.13, "alice"),
            quiet(9.87, "bob"),
            bye(14.11, "bob"),
        ],
    ),
    "02a_conference_api_live_room.txt": Scenario(
        "02a_conference_api_live_room.txt",
        first_member_id=5,
        steps=[
            call(0.09, "alice", "direct-roomB"),
            call(0.53, "bob", "direct-roomB"),
            call(0.95, "carol", "direct-roomB"),
        ],
    ),
    "02b_conference_bgapi_live_room.txt": Scenario(
        "02b_conference_bgapi_live_room.txt",
        first_member_id=10,
        steps=[
            call(0.10, "alice", "direct-roomB"),
            call(0.50, "bob", "direct-roomB"),
        ],
    ),
    "02c_conference_api_no_such_room.txt": Scenario("02c_conference_api_no_such_room.txt"),
    "03a_flags_mute_and_deaf.txt": Scenario(
        "03a_flags_mute_and_deaf.txt",
        first_member_id=12,
        steps=[
            call(0.09, "alice", "flags-mute-roomMD"),
            call(0.21, "bob", "flags-deaf-roomMD"),
            call(0.33, "carol", "plain-roomMD"),
            talk(0.95, "alice"),
            talk(1.01, "bob"),
            talk(1.13, "carol"),
            quiet(8.37, "alice"),
            quiet(8.49, "bob"),
            quiet(8.61, "carol"),
            bye(9.13, "alice"),
            bye(9.25, "bob"),
            bye(10.37, "carol"),
        ],
    ),
    "03b1_waitmod_param_wait-mod_true_is_ignored.txt": Scenario(
        "03b1_waitmod_param_wait-mod_true_is_ignored.txt",
        first_member_id=15,
        profiles=WAITMOD_IGNORED,
        steps=[
            call(0.09, "alice", "wmmember-roomW"),
            talk(0.87, "alice"),
            call(4.41, "bob", "wmmod-roomW"),
            talk(5.21, "bob"),
            quiet(8.377, "alice"),
            bye(10.45, "bob"),
            bye(14.11, "alice"),
        ],
    ),
    "03b2_waitmod_conference-flags_wait-mod.txt": Scenario(
        "03b2_waitmod_conference-flags_wait-mod.txt",
        first_member_id=23,
        steps=[
            call(0.08, "alice", "wmmember-roomW"),
            talk(0.88, "alice"),
            call(2.42, "carol", "wmmember-roomW"),
            talk(3.22, "carol"),
            call(5.14, "bob", "wmmod-roomW"),
            talk(5.94, "bob"),
            quiet(8.379, "alice"),
            quiet(10.699, "carol"),
            bye(11.18, "bob"),
            bye(14.12, "alice"),
            bye(15.46, "carol"),
        ],
    ),
    "03c_endconf_other_member_default.txt": Scenario(
        "03c_endconf_other_member_default.txt",
        first_member_id=17,
        steps=[
            call(0.09, "alice", "plain-roomE"),
            call(0.20, "bob", "flags-endconf-roomE"),
            talk(0.88, "alice"),
            talk(1.00, "bob"),
            bye(4.24, "bob"),
        ],
    ),
    "03d_endconf_other_member_hangup_after_conference_false.txt": Scenario(
        "03d_endconf_other_member_hangup_after_conference_false.txt",
        first_member_id=19,
        steps=[
            call(0.09, "alice", "plainnh-roomE2"),
            call(0.20, "bob", "flags-endconf-roomE2"),
            talk(0.88, "alice"),
            talk(1.00, "bob"),
            bye(4.24, "bob"),
        ],
    ),
    "03e_mintwo_alone_then_pair.txt": Scenario(
        "03e_mintwo_alone_then_pair.txt",
        first_member_id=21,
        steps=[
            call(0.09, "alice", "flags-mintwo-roomT"),
            talk(0.88, "alice"),
            call(6.10, "bob", "plain-roomT"),
            talk(6.92, "bob"),
            quiet(8.364, "alice"),
            bye(10.16, "bob"),
        ],
    ),
    "03f_moh_sound_alone_and_nomoh.txt": Scenario(
        "03f_moh_sound_alone_and_nomoh.txt",
        first_member_id=26,
        steps=[
            call(0.09, "alice", "moh-roomH"),
            talk(0.89, "alice"),
            call(3.31, "bob", "plain-roomH"),
            talk(4.11, "bob"),
            bye(7.13, "alice"),
            bye(7.35, "bob"),
            call(7.47, "carol", "mohnomoh-roomH2"),
            talk(8.27, "carol"),
            call(10.71, "dave", "plain-roomH2"),
            talk(11.51, "dave"),
            bye(14.51, "carol"),
            bye(14.75, "dave"),
        ],
    ),
    "03g_max_members_third_caller_rejected.txt": Scenario(
        "03g_max_members_third_caller_rejected.txt",
        first_member_id=30,
        steps=[
            call(0.08, "alice", "maxm-roomX"),
            call(0.20, "bob", "maxm-roomX"),
            call(0.62, "carol", "maxm-roomX"),
            talk(0.88, "alice"),
            talk(1.00, "bob"),
            quiet(8.382, "alice"),
            quiet(8.502, "bob"),
            bye(9.14, "alice"),
            bye(9.26, "bob"),
        ],
    ),
    "03h_enter_exit_sound_variables.txt": Scenario(
        "03h_enter_exit_sound_variables.txt",
        first_member_id=32,
        steps=[
            call(0.09, "alice", "sounds-roomS"),
            talk(0.89, "alice"),
            call(2.21, "bob", "sounds-roomS"),
            talk(3.01, "bob"),
            bye(6.25, "bob"),
            quiet(8.369, "alice"),
            bye(9.13, "alice"),
        ],
    ),
    "03i_conference_auto_record.txt": Scenario(
        "03i_conference_auto_record.txt",
        first_member_id=34,
        steps=[
            call(0.08, "alice", "autorec-roomR"),
            talk(0.88, "alice"),
            call(1.50, "bob", "plain-roomR"),
            talk(2.30, "bob"),
            bye(5.54, "bob"),
            bye(7.12, "alice"),
        ],
    ),
    "04a_dtmf_in_conference_no_caller_controls.txt": Scenario(
        "04a_dtmf_in_conference_no_caller_controls.txt",
        first_member_id=37,
        steps=[
            call(0.08, "bob", "direct-roomDT"),
            call(0.20, "alice", "direct-roomDT"),
            dtmf(1.88, "alice", "1"),
            dtmf(2.78, "alice", "2"),
            dtmf(3.68, "alice", "3"),
            dtmf(4.58, "alice", "*"),
            dtmf(5.50, "alice", "#"),
            bye(14.12, "bob"),
            bye(14.26, "alice"),
        ],
    ),
    "04b_dtmf_caller_controls_capctl.txt": Scenario(
        "04b_dtmf_caller_controls_capctl.txt",
        first_member_id=43,
        steps=[
            call(0.08, "bob", "direct-roomDC"),
            call(0.20, "alice", "ctl-roomDC"),
            dtmf(1.878, "alice", "0"),
            dtmf(2.778, "alice", "1"),
            dtmf(3.678, "alice", "0"),
            dtmf(4.578, "alice", "#"),
        ],
    ),
    "04c_dtmf_bind_digit_action_realm.txt": Scenario(
        "04c_dtmf_bind_digit_action_realm.txt",
        first_member_id=41,
        steps=[
            call(0.07, "bob", "direct-roomDB"),
            call(0.21, "alice", "dtmfbind-roomDB"),
            dtmf(1.95, "alice", "1"),
            dtmf(2.85, "alice", "2"),
            dtmf(3.69, "alice", "5"),
            dtmf(4.60, "alice", "*"),
        ],
    ),
    "05a_outbound_conference_kick_then_hangup.txt": Scenario(
        "05a_outbound_conference_kick_then_hangup.txt",
        outbound=True,
        first_member_id=46,
        kicker="05a_outbound_conference_kick_then_hangup_inbound_kicker.txt",
        time_scale=0.2,
        steps=[call(-0.02, "alice", "ob-5a")],
    ),
    "05a_outbound_conference_kick_then_hangup_inbound_kicker.txt": None,  # replayed with 05a
    "05b_outbound_caller_hangs_up_in_conference_linger.txt": Scenario(
        "05b_outbound_caller_hangs_up_in_conference_linger.txt",
        outbound=True,
        time_scale=0.2,
        steps=[call(-0.02, "alice", "ob-5b"), bye(5.04, "alice")],
        settle=4.5,
    ),
    "05c_outbound_caller_hangs_up_in_conference_no_linger.txt": Scenario(
        "05c_outbound_caller_hangs_up_in_conference_no_linger.txt",
        outbound=True,
        time_scale=0.2,
        steps=[call(-0.02, "alice", "ob-5c"), bye(5.02, "alice")],
    ),
    "05d_outbound_api_and_exit.txt": Scenario(
        "05d_outbound_api_and_exit.txt",
        outbound=True,
        first_member_id=49,
        time_scale=0.2,
        steps=[call(-0.02, "alice", "ob-5d")],
    ),
    "06a_auth_failure.txt": Scenario("06a_auth_failure.txt"),
    "06b_unknown_commands_and_errors.txt": Scenario("06b_unknown_commands_and_errors.txt"),
}
