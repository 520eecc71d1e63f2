"""The only code that speaks Event Socket (over greenswitch 0.0.19)."""

from controller.esl.errors import (
    CallerGone,
    EslAuthError,
    EslCommandError,
    EslConnectionLost,
    EslError,
    EslNotConnected,
    EslTimeout,
)
from controller.esl.frames import Event
from controller.esl.inbound import ALL, EventQueue, InboundClient
from controller.esl.outbound import Execution, OutboundServer, OutboundSession

__all__ = [
    "ALL",
    "CallerGone",
    "EslAuthError",
    "EslCommandError",
    "EslConnectionLost",
    "EslError",
    "EslNotConnected",
    "EslTimeout",
    "Event",
    "EventQueue",
    "Execution",
    "InboundClient",
    "OutboundServer",
    "OutboundSession",
]
