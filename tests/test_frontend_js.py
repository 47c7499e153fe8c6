"""The frontend extension's pure helpers, run under Node's built-in test runner."""

import re
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MIN_JS_TESTS = 17  # the node --test cases known to exist under tests/js


def test_js_helpers_pass_node_tests():
    node = shutil.which("node")
    assert node, "Node.js is needed for the frontend tests (Debian: apt install nodejs)"
    result = subprocess.run([node, "--test", str(REPO_ROOT / "tests" / "js")], capture_output=True, text=True,
                            timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout, result.stdout
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    # segment_info.test.mjs has 3 tests, pose_draw.test.mjs 14: a file that stops loading must not go unnoticed
    assert passed and int(passed.group(1)) >= MIN_JS_TESTS, result.stdout


def test_extension_imports_only_what_the_frontend_serves():
    source = (REPO_ROOT / "js" / "posegen.js").read_text()
    assert 'from "../../scripts/app.js"' in source and 'from "./posegen_segment_info.js"' in source
