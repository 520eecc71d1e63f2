"""Test helpers that drive real telephony, shipped for applications' own tests.

``plugin``: the pytest plugin (entry point ``conference_controller``): fixtures that run
the simulator, the controller and an application together (``stack``) and record what
the application received (``recorder``). ``sipp_*``: SIPp phones against a real
FreeSWITCH. Nothing here is imported by the controller itself.
"""
