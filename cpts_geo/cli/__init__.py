"""Command-line interface ``cpts-geo``: one module per sub-command, each exposing
``register(subparsers)`` that adds its parser and sets ``func`` (returning an exit code)."""

from __future__ import annotations

import argparse
import importlib
import sys

#: sub-command modules of cpts_geo.cli, in help order
COMMANDS = ("demo", "normalise", "coverage", "map", "apl", "validate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpts-geo",
        description="Diagnostic territorial des CPTS : périmètres, couverture, zones blanches, indicateurs.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"cpts_geo.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"cpts_geo.cli.{name}":
                continue  # command not shipped in this version
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
