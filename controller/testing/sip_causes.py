"""SIP final response codes as FreeSWITCH hangup cause names.

The same mapping FreeSWITCH applies to a failed outbound leg
(src/mod/endpoints/mod_sofia/sofia_glue.c: sofia_glue_sip_cause_to_freeswitch),
so a phone rejected with 486 reports USER_BUSY as FreeSWITCH would.
"""

from __future__ import annotations

_CAUSES = {
    "NORMAL_CLEARING": (200,),
    "CALL_REJECTED": (401, 402, 403, 407, 603, 608),
    "UNWANTED": (607,),
    "UNALLOCATED_NUMBER": (404,),
    "NO_ROUTE_DESTINATION": (485, 604),
    "RECOVERY_ON_TIMER_EXPIRE": (408, 504),
    "NUMBER_CHANGED": (410,),
    "INTERWORKING": (413, 414, 416, 420, 421, 423, 505, 513),
    "NO_USER_RESPONSE": (480,),
    "NORMAL_TEMPORARY_FAILURE": (400, 481, 500, 503),
    "USER_BUSY": (486, 600),
    "INVALID_NUMBER_FORMAT": (484,),
    "INCOMPATIBLE_DESTINATION": (488, 606),
    "NETWORK_OUT_OF_ORDER": (502,),
    "SERVICE_UNAVAILABLE": (405,),
    "SERVICE_NOT_IMPLEMENTED": (406, 415, 501),
    "EXCHANGE_ROUTING_ERROR": (482, 483),
    "ORIGINATOR_CANCEL": (487,),
    "NO_IDENTITY": (428,),
    "BAD_IDENTITY_INFO": (429,),
    "UNSUPPORTED_CERTIFICATE": (437,),
    "INVALID_IDENTITY": (438,),
}
SIP_TO_CAUSE = {status: cause for cause, codes in _CAUSES.items() for status in codes}

# Final failure responses the phone scenario recognises (401/407 are the
# authentication challenge and handled on their own).
FAILURE_STATUSES = tuple(
    sorted(
        {s for s in SIP_TO_CAUSE if s >= 400 and s not in (401, 407)}
        | {491, 493, 580}
    )
)


def cause_for_status(status: int) -> str:
    """FreeSWITCH's cause name for a SIP status; NORMAL_UNSPECIFIED if unmapped."""
    return SIP_TO_CAUSE.get(status, "NORMAL_UNSPECIFIED")
