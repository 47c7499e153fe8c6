"""LoadPoseGenModel, ConvertPoseGenCheckpoint and PoseGenNumerics: thin V3 nodes over ``posegen_core``."""

from __future__ import annotations

import os
from pathlib import Path

import comfy.utils
import folder_paths
import torch
from comfy_api.v0_0_2 import io

from ..posegen_core.errors import PoseGenInputError
from ..posegen_core.poseanything.comfy_model import poseanything_info
from ..posegen_core.posegen.checkpoint import VARIANTS, load_checkpoint, resolve_variant
from ..posegen_core.posegen.checkpoint_writer import write_converted_file
from ..posegen_core.posegen.comfy_model import load_model, posegen_info
from ..posegen_core.wan.model_files import MODEL_FOLDER, list_checkpoints, output_file, resolve_checkpoint
from ..posegen_core.wan.numerics import DEFAULT_NUMERICS, NUMERICS, set_numerics
from .checked_node import PoseGenNode

# fp8 as core UNETLoader offers it: weights stored in fp8, each layer computed in the device's dtype (manual cast)
FP8_DTYPES = {"fp8_e4m3fn": torch.float8_e4m3fn, "fp8_e5m2": torch.float8_e5m2}
WEIGHT_DTYPES = {"default": None, "bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32, **FP8_DTYPES}
CONVERT_DTYPES = {"bf16": torch.bfloat16, "keep": None, "fp16": torch.float16, "fp32": torch.float32, **FP8_DTYPES}


def register_model_folder(folder: str = MODEL_FOLDER) -> None:
    """models/<folder> (models/posegen by default), like ComfyUI's own model folders (extra_model_paths.yaml may
    add more)."""
    default = os.path.join(folder_paths.models_dir, folder)
    if default not in folder_paths.folder_names_and_paths.get(folder, ([], set()))[0]:
        folder_paths.add_model_folder_path(folder, default, is_default=True)


def model_roots(folder: str = MODEL_FOLDER) -> list[Path]:
    return [Path(p) for p in folder_paths.get_folder_paths(folder)]


def _files_signature(path: Path) -> str:
    """Changes when any weight file of the checkpoint changes, so ComfyUI reloads instead of reusing its cache."""
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    return ";".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)


def _checkpoint_input() -> io.Combo.Input:
    return io.Combo.Input(
        "checkpoint", options=list_checkpoints(model_roots()),
        tooltip=f"A PoseGen checkpoint in models/{MODEL_FOLDER}: a folder with model_config.json and its "
        "*.bin/*.safetensors shards (e.g. 720p-81f-base), or a file made by ConvertPoseGenCheckpoint.")


def _variant_input() -> io.Combo.Input:
    return io.Combo.Input(
        "variant", options=["auto", *VARIANTS], default="auto",
        tooltip="base: the segment model (720p-81f-base); cond: the transition model (720p-81f-cond). "
        "auto reads it from the folder name or file metadata. A mismatch is an error.")


class LoadPoseGenModel(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LoadPoseGenModel",
            display_name="Load PoseGen Model",
            category="PoseGen",
            description="Loads a PoseGen DiT (Wan2.1-I2V-14B with in-context LoRA, reference and hand embeddings) "
            "into ComfyUI's own Wan model, merging the LoRA exactly as PoseGen does. The output is a normal MODEL "
            "(memory management, offloading and samplers apply) with PoseGen's forward and flow shift 5.",
            inputs=[
                _checkpoint_input(),
                _variant_input(),
                io.Combo.Input("weight_dtype", options=list(WEIGHT_DTYPES), default="default",
                               tooltip="Storage dtype of the weights. default lets ComfyUI choose for your device "
                               "(PoseGen itself runs in bf16); fp8_e4m3fn / fp8_e5m2 halve the memory of bf16 "
                               "(14B: about 16 GB) and compute each layer in the device's dtype, as UNETLoader."),
            ],
            outputs=[io.Model.Output(display_name="model")],
        )

    @classmethod
    def fingerprint_inputs(cls, checkpoint: str, variant: str, weight_dtype: str) -> str:
        try:
            return _files_signature(resolve_checkpoint(model_roots(), checkpoint))
        except (PoseGenInputError, OSError):
            return ""

    @classmethod
    def execute(cls, checkpoint: str, variant: str, weight_dtype: str) -> io.NodeOutput:
        if weight_dtype not in WEIGHT_DTYPES:
            raise PoseGenInputError("weight_dtype", f"'{weight_dtype}' is unknown.", f"one of {list(WEIGHT_DTYPES)}")
        path = resolve_checkpoint(model_roots(), checkpoint)
        bar = comfy.utils.ProgressBar(1)
        model = load_model(path, variant, WEIGHT_DTYPES[weight_dtype],
                           progress=lambda done, total: bar.update_absolute(done, total))
        return io.NodeOutput(model)


class ConvertPoseGenCheckpoint(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="ConvertPoseGenCheckpoint",
            display_name="Convert PoseGen Checkpoint",
            category="PoseGen",
            description="One-time conversion of a PoseGen checkpoint folder (pickled *.bin shards with separate "
            "LoRA tensors) into one merged .safetensors file in models/posegen, with its config and variant in "
            "the metadata. Load that file afterwards: it memory-maps, needs no pickle and no merge.",
            is_output_node=True,
            inputs=[
                _checkpoint_input(),
                _variant_input(),
                io.String.Input("output_name", default="posegen_base_bf16",
                                tooltip="File name (without folders) for models/posegen/<output_name>.safetensors."),
                io.Combo.Input("dtype", options=list(CONVERT_DTYPES), default="bf16",
                               tooltip="bf16 halves fp32 shards and is what PoseGen runs in; fp8_e4m3fn / fp8_e5m2 "
                               "halve bf16 again (load with weight_dtype default or the same fp8); keep stores the "
                               "merged weights as they are."),
                io.Boolean.Input("overwrite", default=False, tooltip="Replace an existing file of that name."),
            ],
            outputs=[io.String.Output(display_name="file")],
        )

    @classmethod
    def execute(cls, checkpoint: str, variant: str, output_name: str, dtype: str, overwrite: bool) -> io.NodeOutput:
        roots = model_roots()
        source = resolve_checkpoint(roots, checkpoint)
        target = output_file(roots[0], output_name)
        if target.exists() and not overwrite:
            raise PoseGenInputError("output_name", f"'{target.name}' already exists in models/{MODEL_FOLDER}.",
                                    "a new name, or overwrite enabled")
        if dtype not in CONVERT_DTYPES:
            raise PoseGenInputError("dtype", f"'{dtype}' is unknown.", f"one of {list(CONVERT_DTYPES)}")
        bar = comfy.utils.ProgressBar(1)
        loaded = load_checkpoint(source, progress=lambda done, total: bar.update_absolute(done, total))
        resolved = resolve_variant(variant, loaded.variant)
        write_converted_file(target, loaded, resolved, CONVERT_DTYPES[dtype])
        return io.NodeOutput(target.name, ui={"text": [f"wrote models/{MODEL_FOLDER}/{target.name}"]})


class PoseGenNumerics(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenNumerics",
            display_name="PoseGen Numerics",
            category="PoseGen",
            description="Chooses how a PoseGen or PoseAnything MODEL computes: native (ComfyUI's Wan numerics: "
            "float32 RoPE tables, fused ops; the default and the fastest) or reference (the public code's: float64 "
            "RoPE, separate ops; for fidelity checks, about 6 GB more VRAM per block at 720x1280). Both match the "
            "public code within the golden tolerances.",
            inputs=[
                io.Model.Input("model", tooltip="A MODEL from Load PoseGen Model or Load PoseAnything Model."),
                io.Combo.Input("numerics", options=list(NUMERICS), default=DEFAULT_NUMERICS,
                               tooltip="native: float32 RoPE tables and fused ops, as ComfyUI's Wan. reference: "
                               "float64 RoPE and separate ops, as PoseGen's and PoseAnything's public code."),
            ],
            outputs=[io.Model.Output(display_name="model")],
        )

    @classmethod
    def execute(cls, model, numerics: str) -> io.NodeOutput:
        if numerics not in NUMERICS:
            raise PoseGenInputError("numerics", f"'{numerics}' is unknown.", f"one of {', '.join(NUMERICS)}")
        if poseanything_info(model) is None:
            posegen_info(model)  # names `model` when it is neither family's
        patched = model.clone()
        set_numerics(patched, numerics)
        return io.NodeOutput(patched)
