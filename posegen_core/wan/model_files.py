"""Finding PoseGen checkpoints inside ComfyUI's model folders, and keeping file names inside them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..errors import PoseGenInputError
from .shards import CONFIG_FILE

MODEL_FOLDER = "posegen"  # models/posegen/<checkpoint folder>/ or models/posegen/<converted>.safetensors
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def has_config_file(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file()


def list_checkpoints(roots: list[Path], is_checkpoint_folder: Callable[[Path], bool] = has_config_file) -> list[str]:
    """Checkpoint folders (up to two levels deep; PoseGen's hold ``model_config.json``) and ``.safetensors`` files
    outside them, as paths relative to their root, with ``/`` separators."""
    found: set[str] = set()
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for folder in list(root.glob("*/")) + list(root.glob("*/*/")):
            if folder.is_dir() and is_checkpoint_folder(folder):
                found.add(folder.relative_to(root).as_posix())
        for file in root.glob("*.safetensors"):
            found.add(file.relative_to(root).as_posix())
        for file in list(root.glob("*/*.safetensors")) + list(root.glob("*/*/*.safetensors")):
            if not is_checkpoint_folder(file.parent):  # shards of a folder are not checkpoints of their own
                found.add(file.relative_to(root).as_posix())
    return sorted(found)


def resolve_checkpoint(roots: list[Path], name: str, input_name: str = "checkpoint",
                       model_folder: str = MODEL_FOLDER) -> Path:
    """The checkpoint called ``name`` under one of ``roots``; never a path outside them for the name itself.

    The name is joined to the root without resolving links: a relative name without ``..`` stays inside the root,
    and a checkpoint the user linked into the folder (models on another disk) is found as ComfyUI finds its own."""
    if not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise PoseGenInputError(input_name, f"'{name}' is not a checkpoint name.",
                                f"a folder or file inside models/{model_folder}")
    for root in roots:
        candidate = Path(root).absolute() / name
        if candidate.exists():
            return candidate
    raise PoseGenInputError(input_name, f"'{name}' was not found.",
                            f"a checkpoint in models/{model_folder}")


def output_file(root: Path, name: str, input_name: str = "output_name") -> Path:
    """``root/<name>.safetensors`` for a plain file name (no folders, no traversal)."""
    stem = name[: -len(".safetensors")] if name.endswith(".safetensors") else name
    if not _SAFE_NAME.match(stem):
        raise PoseGenInputError(input_name, f"'{name}' is not a plain file name.",
                                "letters, digits, '.', '_' and '-' only, no folders")
    return Path(root) / f"{stem}.safetensors"
