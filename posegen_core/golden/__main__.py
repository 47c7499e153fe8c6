"""``python -m posegen_core.golden [FOLDER ...]`` (no folder: the sets in tests/data/golden)."""

import sys

from . import main

sys.exit(main())
