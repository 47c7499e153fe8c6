"""Packaging checks: Comfy Registry metadata, dependency lists, lint.

These run the tools installed by scripts/bootstrap.sh in the same virtualenv as pytest
(located through ``sys.executable``), from the repository root.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PYPROJECT = REPO / "pyproject.toml"

# ComfyUI owns these; a node pack must never ask pip for them.
TORCH_FAMILY = {"torch", "torchvision", "torchaudio"}


def _venv_tool(name: str) -> Path:
    tool = VENV_BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} not found: run scripts/bootstrap.sh (requirements-dev.txt installs {name})")
    return tool


def _pyproject() -> dict:
    with PYPROJECT.open("rb") as fh:
        return tomllib.load(fh)


def _requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if line:
            lines.append(line)
    return lines


def _normalized(reqs: list[str]) -> dict[str, tuple[str, str, str]]:
    out: dict[str, tuple[str, str, str]] = {}
    for text in reqs:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name not in out, f"{name} listed twice"
        out[name] = (",".join(sorted(str(s) for s in req.specifier)), ",".join(sorted(req.extras)), str(req.marker))
    return out


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,
    )


# --- (a) comfy node validate -------------------------------------------------------------


def test_comfy_node_validate_passes(tmp_path: Path) -> None:
    comfy = _venv_tool("comfy")
    # Isolated HOME: comfy-cli keeps its config (tracking consent, default workspace) in
    # ~/.config/comfy-cli; start from an empty one so the user's settings cannot interfere.
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    env = {
        **os.environ,
        "HOME": str(home),
        # Telemetry hard opt-out: no consent prompt, nothing sent (no network here anyway).
        "DO_NOT_TRACK": "1",
        "COMFY_NO_TELEMETRY": "1",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    # --skip-prompt: never ask anything; --no-json: the human report, even without a TTY.
    proc = _run([str(comfy), "--skip-prompt", "--no-json", "node", "validate"], env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"comfy node validate exited {proc.returncode}:\n{output}"
    # comfy-cli only *warns* (exit 0) about exec/eval/one-line statements; we treat them as errors.
    assert "Security warnings found" not in output, output
    assert not re.search(r"\b(error|warning)\b", output, re.IGNORECASE), output
    assert "All validation checks passed" in output, output


# --- (b) dependency lists ------------------------------------------------------------------


def test_pyproject_dependencies_match_requirements_txt() -> None:
    project_deps = _pyproject()["project"]["dependencies"]
    req_txt = _requirement_lines(REPO / "requirements.txt")
    assert _normalized(project_deps) == _normalized(req_txt), (
        "pyproject.toml [project].dependencies and requirements.txt differ:\n"
        f"  pyproject:        {sorted(project_deps)}\n  requirements.txt: {sorted(req_txt)}"
    )


@pytest.mark.parametrize("source", ["pyproject.toml", "requirements.txt"])
def test_no_torch_in_runtime_dependencies(source: str) -> None:
    if source == "pyproject.toml":
        reqs = _pyproject()["project"]["dependencies"]
    else:
        reqs = _requirement_lines(REPO / source)
    names = {canonicalize_name(Requirement(r).name) for r in reqs}
    assert not names & TORCH_FAMILY, f"{source} must not list {sorted(names & TORCH_FAMILY)}: ComfyUI owns torch"


def test_registry_metadata() -> None:
    data = _pyproject()
    project, comfy = data["project"], data["tool"]["comfy"]
    name = project["name"]
    # Comfy Registry node id rules (docs.comfy.org/registry/specifications).
    assert len(name) < 100
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*", name), name
    assert "comfyui" not in name.lower(), "the registry asks not to put 'ComfyUI' in the node id"
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"]), project["version"]
    assert project["urls"]["Repository"].startswith("https://")
    assert comfy["PublisherId"] and comfy["DisplayName"]
    web = comfy.get("web")
    assert web and (REPO / web).is_dir(), f"[tool.comfy].web = {web!r} must be an existing folder"


def test_dev_requirements_do_not_move_torch() -> None:
    for line in _requirement_lines(REPO / "requirements-dev.txt"):
        assert canonicalize_name(Requirement(line).name) not in TORCH_FAMILY, line


# --- (c) lint ----------------------------------------------------------------------------


def test_ruff_check_is_clean() -> None:
    ruff = _venv_tool("ruff")
    proc = _run([str(ruff), "check", "--no-cache", "--output-format", "concise", "."])
    assert proc.returncode == 0, f"ruff check . found problems:\n{proc.stdout}{proc.stderr}"
