"""The cXML face (SignalWire's compatibility API and Twilio): cXML/TwiML markup
(``schema``, ``markup``), the clouds' request parameters (``params``), SIDs derived
from FreeSWITCH's UUIDs (``sids``), X-Twilio-Signature (``signature``), Twilio's REST
shapes (``rest``). The dialect object lives in ``dialect`` and registers on import."""
