#!/usr/bin/env bash
# Run the test suite: ./scripts/test.sh [pytest args]
#   ./scripts/test.sh                          -> everything under tests/
#   ./scripts/test.sh -q -m "not integration"  -> options only: still tests/
#   ./scripts/test.sh tests/test_packaging.py  -> just that file
# Bootstraps the environment first (fast when it is already there).
set -euo pipefail

# shellcheck source=scripts/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

cd "$POSEGEN_REPO"
export COMFYUI_PATH
# No explicit "tests" argument: pyproject's testpaths = ["tests"] applies whenever no
# path is given, and a path given on the command line then selects only that path.
rc=0
"$POSEGEN_PYTHON" -m pytest "$@" || rc=$?
exit "$rc"
