"""The demo application moved into the package (controller/demo_app.py) so that an installed
wheel can run `conference-controller sim demo`; this name is kept for code that imported it."""

from controller.demo_app import beep_wav, create_app, main

__all__ = ["beep_wav", "create_app", "main"]
