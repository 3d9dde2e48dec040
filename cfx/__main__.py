"""`python -m cfx` is the `cfx` command."""

import sys

from cfx.cli import main

sys.exit(main())
