"""Test helpers that drive real telephony: SIPp phones against a real FreeSWITCH.

Nothing here is imported by the controller itself.
"""
