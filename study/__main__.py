"""``python -m study`` is the same as the ``vae-study`` console script."""

import sys

from study.cli import main

sys.exit(main())
