"""The controller SIGKILLed with members in rooms (issue 14: members who hung up while it
was down or after the restart produced 0 of 75 exit/action/hangup callbacks, and digit
presses after the restart were not reported).

After the restart every member gets exactly one exit callback, one action request and one
hangup request: marked recovered (``X-Conference-Recovered: true``, Plivo callbacks also
``Recovered=true``) when the restarted controller reported them from its journal, with
``NORMAL_UNSPECIFIED`` for calls that ended while it was down (FreeSWITCH keeps no cause of
a channel that is gone) and FreeSWITCH's own cause for those that ended after the restart.
A member who leaves its room after the restart is handed back by the dialplan's second
socket and resumed as before (not recovered: its own session reports it).
"""

from __future__ import annotations

from pathlib import Path

import gevent
from appkit import wait_until
from processes import HeaderRecorder, controller_process, controller_ready, kill
from stack import Stack

ROOMS = ("reca", "recb")
DOWN, AFTER, DIGITS, KICKED, STAY = 3, 3, 1, 1, 2  # members of each kind
MEMBERS = DOWN + AFTER + DIGITS + KICKED + STAY


def answer(params: dict) -> str:
    room = ROOMS[int(params["From"][1:]) % 2]
    return (f'<Response><Conference callbackUrl="/cb" action="/act" digitsMatch="1">{room}'
            '</Conference></Response>')


def test_every_member_gets_exit_action_and_hangup_across_a_controller_sigkill(tmp_path: Path):
    recorder = HeaderRecorder()
    recorder.documents["/answer"] = answer
    recorder.documents["/act"] = "<Response><Hangup/></Response>"
    with Stack(tmp_path, app=recorder.app, start_controller=False) as stack:
        overrides = stack.settings_overrides()
        log = tmp_path / "controller.log"
        process = controller_process(overrides, log)
        try:
            wait_until(lambda: controller_ready(stack.http_port), timeout=30,
                       what="the controller process")
            phones = [stack.phones.call("1000", caller_id=f"m{n}") for n in range(MEMBERS)]
            for phone in phones:
                recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=phone.uuid)
            down = phones[:DOWN]
            after = phones[DOWN:DOWN + AFTER]
            digits = phones[DOWN + AFTER:DOWN + AFTER + DIGITS]
            kicked = phones[DOWN + AFTER + DIGITS:DOWN + AFTER + DIGITS + KICKED]
            stay = phones[DOWN + AFTER + DIGITS + KICKED:]

            kill(process)
            for phone in down:
                phone.hangup()
            gevent.sleep(0.3)
            assert recorder.at("/cb", ConferenceAction="exit") == []  # nobody told: today's bug

            process = controller_process(overrides, log)
            wait_until(lambda: controller_ready(stack.http_port), timeout=30,
                       what="the restarted controller")
            for phone in down:  # reported at the restart, from the journal
                recorder.wait_for("/hangup", CallUUID=phone.uuid)
            # the others are found up and watched from the inbound connection
            wait_until(lambda: log.read_text().count("is still up in room") >= MEMBERS - DOWN,
                       timeout=10, what="every live member watched")
            for phone in after:
                phone.hangup()
            for phone in digits:
                phone.send_dtmf("1")
                recorder.wait_for("/cb", ConferenceAction="digits", CallUUID=phone.uuid)
                phone.hangup()
            for phone in kicked:
                room = ROOMS[int(phone.caller_id[1:]) % 2]
                member = next(m for m in stack.sim.conference_state(room)["members"]
                              if m["uuid"] == phone.uuid)
                stack.sim.core.execute_api("conference", f"{room} kick {member['id']}")
                assert phone.wait_hangup(timeout=15) == "NORMAL_CLEARING"  # the action's Hangup
            for phone in stay:
                phone.hangup()
            for phone in phones:
                recorder.wait_for("/hangup", CallUUID=phone.uuid)
            gevent.sleep(0.5)  # anything sent twice would arrive now
        finally:
            kill(process)

    def requests(path: str, phone, **match: str) -> list[dict]:
        return recorder.at(path, CallUUID=phone.uuid, **match)

    delivered = 0
    for phone in phones:
        exits = requests("/cb", phone, ConferenceAction="exit")
        actions = requests("/act", phone)
        hangups = requests("/hangup", phone)
        assert (len(exits), len(actions), len(hangups)) == (1, 1, 1), phone.caller_id
        delivered += 3
        recovered = phone not in kicked
        for request in (*exits, *actions, *hangups):
            assert request["recovered_header"] == ("true" if recovered else ""), \
                (phone.caller_id, request["path"])
        assert (exits[0].get("Recovered") == "true") is recovered
        assert exits[0]["ConferenceName"] in ROOMS
        assert exits[0]["ConferenceMemberID"] == actions[0]["ConferenceMemberID"]
        cause = hangups[0]["HangupCause"]
        assert cause == ("NORMAL_UNSPECIFIED" if phone in down else "NORMAL_CLEARING"), \
            (phone.caller_id, cause)
        # the application hears them in order: exit, action, hangup
        assert exits[0]["at"] <= actions[0]["at"] <= hangups[0]["at"]
    for phone in digits:
        pressed = requests("/cb", phone, ConferenceAction="digits")
        assert [(r["ConferenceDigitsMatch"], r.get("Recovered")) for r in pressed] == \
            [("1", "true")]
    assert delivered == 3 * MEMBERS
