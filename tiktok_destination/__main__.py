"""``python -m tiktok_destination``: the command line."""

import sys

from tiktok_destination.cli import main

sys.exit(main())
