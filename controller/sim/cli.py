"""Placeholder: the simulator's command line (replaced by the simulator work)."""

import argparse


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(func=lambda args: print("simulator not built yet") or 1)
