"""A run folder: a long video's finished work on disk, so an interrupted, failed or killed run continues where it
stopped and produces exactly the video an uninterrupted run produces.

One folder per run key (``run_key``) under ComfyUI's output folder. Every entry is a safetensors file written
under a temporary name and renamed into place, so a crash leaves either the old entry or the new one, never half
of one. ``run.json`` says what the run is (for listing stale folders) and is written the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from ..errors import PoseGenInputError

MANIFEST = "run.json"
RUNS_FOLDER = "posegen_runs"  # under ComfyUI's output directory (its temp directory is emptied at every start)


@dataclass(frozen=True)
class RunFolderInfo:
    key: str
    path: Path
    bytes: int
    created: float
    description: str


class RunFolder:
    """The folder of one run; entries are named tensors dictionaries."""

    def __init__(self, root: Path, key: str, description: str = "") -> None:
        self.root, self.key = Path(root), key
        self.path = self.root / key
        self.description = description

    def open(self) -> RunFolder:
        """Create the folder (or find it from an earlier try) and record what it belongs to."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if not (self.path / MANIFEST).is_file():
                self._write_json(MANIFEST, {"key": self.key, "created": time.time(), "description": self.description})
        except OSError as exc:
            raise PoseGenInputError("run_folder", f"cannot create the run folder '{self.path}' ({exc.strerror}).",
                                    "a writable ComfyUI output folder") from exc
        self._check_manifest()
        return self

    @property
    def resumed(self) -> bool:
        """Whether the folder already holds finished work (an earlier try of the same run)."""
        return any(self.path.glob("*.safetensors"))

    def _check_manifest(self) -> None:
        """A folder under this run's name that another run wrote (copied or renamed by hand) is refused, untouched."""
        try:
            meta = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise PoseGenInputError("run_folder", f"'{self.path}' has an unreadable {MANIFEST}.",
                                    "a run folder this pack wrote (remove it with PoseGen Run Folders)") from exc
        if meta.get("key") != self.key:
            raise PoseGenInputError("run_folder", f"'{self.path}' belongs to run {meta.get('key')!r}, not to this "
                                    f"run ({self.key}): its finished work is from other inputs.",
                                    "the folder of this run (remove this one with PoseGen Run Folders)")

    # --- entries -----------------------------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return (self.path / f"{name}.safetensors").is_file()

    def load(self, name: str) -> dict[str, torch.Tensor] | None:
        path = self.path / f"{name}.safetensors"
        return load_file(str(path)) if path.is_file() else None

    def save(self, name: str, tensors: dict[str, torch.Tensor]) -> None:
        """Write an entry atomically (a crash never leaves half a file under the entry's name)."""
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=self.path)
        os.close(fd)
        try:
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp)
            os.replace(tmp, self.path / f"{name}.safetensors")
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise PoseGenInputError("run_folder", f"cannot write to the run folder '{self.path}' ({exc.strerror}).",
                                    "room on the disk of ComfyUI's output folder") from exc
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove(self, name: str) -> None:
        (self.path / f"{name}.safetensors").unlink(missing_ok=True)

    # --- the folder --------------------------------------------------------------------------------------------

    @property
    def bytes(self) -> int:
        return folder_bytes(self.path)

    def delete(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def _write_json(self, name: str, value: dict) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=self.path)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(value, out)
            os.replace(tmp, self.path / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def save_file(tensors: dict[str, torch.Tensor], path: str) -> None:
    """safetensors' ``save_file``, with the file written by Python: its OSError says why a write failed, where
    safetensors' own writer raises a SafetensorError without an errno (a full disk among others)."""
    data = safetensors_bytes(tensors)
    with open(path, "wb") as out:
        out.write(data)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def list_run_folders(root: Path) -> list[RunFolderInfo]:
    """Every run folder under ``root``, oldest first (partial files of a crash included in the sizes)."""
    found = []
    for folder in sorted(Path(root).glob("*/")) if Path(root).is_dir() else []:
        manifest = folder / MANIFEST
        try:
            meta = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # not a run folder (or its manifest never finished): not ours to list or remove
        found.append(RunFolderInfo(key=folder.name, path=folder, bytes=folder_bytes(folder),
                                   created=float(meta.get("created", 0.0)), description=str(meta.get("description",
                                                                                                  ""))))
    return sorted(found, key=lambda info: info.created)


def remove_run_folders(root: Path, keep: str | None = None, only: str | None = None) -> list[RunFolderInfo]:
    """Delete every run folder under ``root`` except ``keep`` (or only the one named ``only``); returns what was
    removed."""
    removed = [info for info in list_run_folders(root) if info.key != keep and only in (None, info.key)]
    for info in removed:
        shutil.rmtree(info.path, ignore_errors=True)
    return removed
