"""The stack the tests run on: the one the pytest plugin ships (controller/testing/stack.py),
re-exported so tests keep importing ``from stack import Stack``."""

from controller.testing.stack import API_TOKEN, Stack, free_port, real_freeswitch, wait_until

__all__ = ["API_TOKEN", "Stack", "free_port", "real_freeswitch", "wait_until"]
