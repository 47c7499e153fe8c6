"""A golden folder (tensors made by PoseGen's public code on tiny random weights) and how results are judged."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

DEFAULT_TOLERANCES = {"forward": 1e-5, "sampling": 1e-4, "exact": 0.0}


@dataclass
class CaseResult:
    name: str
    kind: str  # "forward" | "sampling" | "exact"
    tolerance: float
    max_abs: float
    relative: float

    @property
    def passed(self) -> bool:
        return self.max_abs <= self.tolerance

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (f"{verdict:<5} {self.name:<52} max_abs={self.max_abs:.3e} rel={self.relative:.3e} "
                f"tol={self.tolerance:.0e}")


def compare(name: str, kind: str, tolerance: float, got: torch.Tensor, want: torch.Tensor) -> CaseResult:
    if got.shape != want.shape:
        raise AssertionError(f"{name}: shape {tuple(got.shape)} != reference {tuple(want.shape)}")
    diff = (got.double() - want.double()).abs().max().item()
    scale = want.double().abs().max().item()
    return CaseResult(name, kind, tolerance, max_abs=diff, relative=diff / scale if scale else diff)


def tolerances_from_readme(readme: Path) -> dict[str, float]:
    """The "Suggested tolerances" bullets (``Single forwards: atol 1e-5``...), defaults where absent."""
    tolerances = dict(DEFAULT_TOLERANCES)
    if not readme.is_file():
        return tolerances
    text = readme.read_text(encoding="utf-8")
    for kind, pattern in (("forward", r"single forwards?:\s*atol\s*([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)"),
                          ("sampling", r"full sampling:\s*atol\s*([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)")):
        match = re.search(pattern, text, flags=re.IGNORECASE)
        if match:
            tolerances[kind] = float(match.group(1))
    return tolerances


class GoldenFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        self.model_config = json.loads((self.folder / "model_config.json").read_text(encoding="utf-8"))
        self.tolerances = tolerances_from_readme(self.folder / "README.md")
        self._files: dict[str, dict[str, torch.Tensor]] = {}

    def tensors(self, file: str) -> dict[str, torch.Tensor]:
        if file not in self._files:
            path = self.folder / file
            self._files[file] = load_file(str(path)) if path.is_file() else {}
        return self._files[file]

    def merged_weights(self) -> dict[str, torch.Tensor]:
        """The weights every stored PoseGen output ran with: ``model.safetensors`` with each LoRA target's weight
        ``W`` replaced by ``W + alpha·(B @ A)`` in float32, ``alpha`` from config.json (PoseGen's
        ``merge_lora_weights`` rule). This reproduces, bit for bit, the merged file PoseGen's own loader wrote; the
        set keeps only its two inputs. Written out here rather than through our loader, which it checks."""
        alpha = float(self.config["lora"]["alpha"])
        lora = self.tensors("lora.safetensors")
        merged = dict(self.tensors("model.safetensors"))
        for up_key in sorted(k for k in lora if ".lora_B." in k):
            module = up_key.split(".lora_B.")[0].removeprefix("pipe.dit.")
            up, down = lora[up_key], lora[up_key.replace(".lora_B.", ".lora_A.")]
            merged[f"{module}.weight"] = merged[f"{module}.weight"] + alpha * (up @ down)
        return merged

    def ondisk_checkpoint(self) -> dict[str, torch.Tensor]:
        """PoseGen's on-disk dictionary, rebuilt from the folder's own key map."""
        out = {}
        for ondisk_key, where in self.config["posegen_ondisk_checkpoint_keys"].items():
            file, _, key = where.partition(":")
            out[ondisk_key] = self.tensors(file)[key]
        return out

    def kvshare_settings(self, section: str, mask_mode: str = "attention"):
        """The folder's KV-sharing settings (steps, blocks, mask blocks, subject token) for a config section."""
        from ..longvideo.kvshare import KVShareSettings

        kv = self.config["kvshare_kwargs"]
        part = self.config[section]
        return KVShareSettings(steps=frozenset(kv["steps"]), blocks=frozenset(kv["blocks"]), mask_mode=mask_mode,
                               max_block_idx=int(part["max_block_idx"]),
                               token_indices=tuple(int(i) for i in self.config["text"]["token_indices"]))

    def write_checkpoint_folder(self, parent: Path) -> Path:
        from ..posegen.checkpoint_writer import write_posegen_folder

        folder = parent / f"{self.config.get('name', 'golden')}-base"
        write_posegen_folder(folder, self.ondisk_checkpoint(), self.model_config, num_shards=2, fmt="bin")
        return folder


