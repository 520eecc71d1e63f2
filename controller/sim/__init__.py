"""FreeSWITCH simulator (wire-level Event Socket + mod_conference model).

from controller.sim import Simulator, SimConfig
"""

from controller.sim.config import SimConfig, SimConfigError

__all__ = ["Simulator", "SimConfig", "SimConfigError", "Phone", "PhoneError"]


def __getattr__(name: str):  # noqa: ANN202 - lazy import keeps `sim` CLI parsing light
    if name == "Simulator":
        from controller.sim.simulator import Simulator

        return Simulator
    if name in ("Phone", "PhoneError"):
        from controller.sim import phones

        return getattr(phones, name)
    raise AttributeError(name)
