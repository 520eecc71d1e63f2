"""The SIPp scenario of a test phone: scenarios/phone.xml, completed.

The template marks where every final failure response to an INVITE must be
accepted; SIPp needs one receive element per status code (it cannot match a
range), so they are generated here from sip_causes.FAILURE_STATUSES.
"""

from __future__ import annotations

import re
from pathlib import Path

from controller.testing.sip_causes import FAILURE_STATUSES

TEMPLATE = Path(__file__).with_name("scenarios") / "phone.xml"
_MARKER = re.compile(r"<!--@failure_responses:([a-z_]+)@-->")

# SIPp's regex is POSIX ERE: [[:print:]] stops at CR/LF (a bracketed \r\n
# would mean the letters r and n).
_FAILURE_RECV = (
    '<recv response="{status}" optional="true" next="{label}">'
    '<action><ereg regexp="^SIP/2.0 ([0-9]+) ([[:print:]]*)" search_in="msg"'
    ' assign_to="_,status,phrase"/></action></recv>'
)


def scenario_xml(template: str | None = None) -> str:
    """The complete scenario text (template: the packaged phone.xml)."""
    text = TEMPLATE.read_text(encoding="iso-8859-1") if template is None else template
    if not _MARKER.search(text):
        raise ValueError("scenario template has no <!--@failure_responses:LABEL@--> marker")
    return _MARKER.sub(
        lambda m: "\n  ".join(
            _FAILURE_RECV.format(status=status, label=m.group(1)) for status in FAILURE_STATUSES
        ),
        text,
    )
