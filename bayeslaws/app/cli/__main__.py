"""``python -m bayeslaws.app.cli``: the command line, as the console script runs it."""

import sys

from .entry import main

sys.exit(main())
