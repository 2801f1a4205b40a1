"""Command-line interface: ``dtistat demo`` and friends."""

from __future__ import annotations

import sys


def main(argv=None) -> int:
    print("dtistat: under construction", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
