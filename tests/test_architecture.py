"""The core's layering (posegen_core/__init__.py): imports run one way, and the docstrings say what is allowed.

Every import in the core counts, also those inside functions and under TYPE_CHECKING: a lazy import still ties
the two packages together.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "posegen_core"

# lowest first; a package may import from any earlier rank, never from its own rank's other packages or later ones
LAYERS: list[set[str]] = [
    {"errors", "comfy_env"},
    {"input_checks"},
    {"poses", "video"},
    {"wan"},
    {"posegen", "poseanything"},
    {"posecrafter"},
    {"longvideo"},
    {"distributed", "golden"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
COMFYUI_FREE = {"errors", "input_checks", "poses", "video"}


def core_unit(module: str) -> str | None:
    """The core package (or top-level module) a dotted module path belongs to; None outside the core."""
    parts = module.split(".")
    return parts[1] if parts[0] == "posegen_core" and len(parts) > 1 else None


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in a core file, relative ones resolved."""
    package = ["posegen_core", *path.relative_to(CORE).with_suffix("").parts[:-1]]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                assert base, f"{path.name}:{node.lineno}: a relative import above posegen_core (the nodes' side)"
                module = ".".join(base + ([node.module] if node.module else []))
                if not node.module:  # `from . import x`: x is a module of that package
                    found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
                    continue
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def core_files() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_core_package_has_a_layer() -> None:
    units = {p.relative_to(CORE).parts[0].removesuffix(".py") for p in core_files()} - {"__init__", "__main__"}
    assert units == set(RANK), "add the new package to LAYERS and to posegen_core/__init__.py"


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_imports_run_one_way(path: Path) -> None:
    here = path.relative_to(CORE).parts[0].removesuffix(".py")
    if here == "__init__":
        return
    for line, module in imports_of(path):
        assert module.split(".")[0] not in {"devtools", "bench", "tests"}, f"{path.name}:{line} imports {module}"
        target = core_unit(module)
        if target is None or target == here:
            continue
        assert RANK[target] < RANK[here], (
            f"{path.relative_to(REPO)}:{line}: {here} (layer {RANK[here]}) imports {module} ({target}, layer "
            f"{RANK[target]}); imports run from lower layers to higher ones only")


def test_comfyui_free_packages_match_the_lint_rule_and_the_docstrings() -> None:
    # pyproject.toml read as text: tomllib needs Python 3.11, the pack supports 3.10
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^select = \[.*"TID251".*\]$', text, flags=re.M)
    free = re.findall(r'^"!posegen_core/\{([^}]*)\}" = \["TID251"\]$', text, flags=re.M)
    assert len(free) == 1
    assert {name.removesuffix(".py").removesuffix("/**") for name in free[0].split(",")} == COMFYUI_FREE
    banned = set(re.findall(r'^"([a-z_]+)"\.msg = ', text, flags=re.M))
    assert {"comfy", "comfy_api", "folder_paths", "nodes"} <= banned
    for unit in RANK:
        init = CORE / unit / "__init__.py"
        if not init.is_file():
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        want = "ComfyUI: free" if unit in COMFYUI_FREE else "ComfyUI: may import"
        assert want in doc, f"posegen_core/{unit}/__init__.py must say '{want}'"


@pytest.mark.parametrize("unit", sorted(COMFYUI_FREE))
def test_comfyui_free_packages_import_no_comfyui(unit: str) -> None:
    comfy_modules = {"comfy", "comfy_api", "comfy_execution", "comfy_extras", "execution", "folder_paths",
                     "latent_preview", "node_helpers", "nodes", "server"}
    paths = [CORE / f"{unit}.py"] if (CORE / f"{unit}.py").is_file() else sorted((CORE / unit).rglob("*.py"))
    for path in paths:
        for line, module in imports_of(path):
            assert module.split(".")[0] not in comfy_modules, f"{path.name}:{line} imports {module}"


def test_unit_tests_mirror_the_package_tree() -> None:
    test_dirs = {p.name for p in (REPO / "tests" / "unit").iterdir() if p.is_dir() and p.name != "__pycache__"}
    packages = {p.name for p in CORE.iterdir() if (p / "__init__.py").is_file()}
    assert test_dirs == packages, "tests/unit/<package>/ for every core package, and no other folder"
    modules = {p.stem for p in CORE.glob("*.py")} - {"__init__"}
    loose = {p.stem.removeprefix("test_") for p in (REPO / "tests" / "unit").glob("test_*.py")}
    assert loose <= modules, "tests/unit/test_<module>.py only for a top-level core module; the rest by package"
