"""Command-line interface: ``dtistat demo`` (the main job) and its siblings.

Each subcommand exits 0 on success and 2 with a one-line message on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dtistat.errors import DtiStatError

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from dtistat.report import run_demo

    rep = run_demo(args.out, seed=args.seed)
    print(f"dtistat demo: {len(rep.tables)} tables, {len(rep.figures)} figures in "
          f"{rep.seconds:.1f} s")
    for line in rep.summary:
        print(f"  - {line}")
    if rep.failed:
        print(f"  sections that failed: {', '.join(rep.failed)}", file=sys.stderr)
    print(f"report: {rep.html_path.resolve()}")
    return 1 if rep.failed else 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dtistat",
        description="Digital transformation index toolkit: index, weight sensitivity and "
                    "the econometrics of digitalization and future industries.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser(
        "demo", help="run the whole method on the bundled demo world and write a report",
        description="Run the index, its analytics and the estimators on the demo world "
                    "(simulated data calibrated to the 2023 report; real city metadata) "
                    "and write report.html, tables/*.csv and figures/*.png.",
        epilog="example: dtistat demo --out dtistat-demo",
    )
    d.add_argument("--out", default="dtistat-demo", help="output folder (default: %(default)s)")
    d.add_argument("--seed", type=int, default=2023,
                   help="demo world seed; 2023 uses the shipped files (default: %(default)s)")
    d.set_defaults(func=_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except DtiStatError as exc:
        print(f"dtistat {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
