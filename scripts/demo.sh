#!/usr/bin/env bash
# Run the demo: ./scripts/demo.sh [demo args]   (see devtools/demo.py)
# Bootstraps the environment first (fast when it is already there).
set -euo pipefail

# shellcheck source=scripts/bootstrap.sh
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

cd "$POSEGEN_REPO"
export COMFYUI_PATH
exec "$POSEGEN_PYTHON" -m devtools.demo "$@"
