"""`python3 -m mvi ...`: the mvi command line (mvi/cli.py), e.g. `python3 -m mvi init demo -n`."""

import sys

from .cli import main

sys.exit(main())
