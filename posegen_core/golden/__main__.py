"""``python -m posegen_core.golden FOLDER``."""

import sys

from . import main

sys.exit(main())
