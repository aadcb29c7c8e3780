"""``python -m tiktok_destination``: the command line."""

import sys

from tiktok_destination.cli.main import main

sys.exit(main())
