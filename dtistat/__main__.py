"""``python -m dtistat``: the same command line as the ``dtistat`` script."""

import sys

from dtistat.cli import main

sys.exit(main())
