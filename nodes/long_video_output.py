"""Where the Segment Sampler's video goes: PoseGen Video Output (file name, encoding, frame rate, run folder), the
run folders of stopped runs (PoseGen Run Folders: list, remove), and the helpers the sampler uses to name its file
and to tell whether its IMAGE output is wanted."""

from __future__ import annotations

from pathlib import Path

import folder_paths
from comfy_api.v0_0_2 import io

from ..posegen_core.errors import PoseGenInputError
from ..posegen_core.longvideo.file_run import VideoOutput
from ..posegen_core.longvideo.run_folder import RUNS_FOLDER, list_run_folders, remove_run_folders
from ..posegen_core.video.writer import ENCODINGS
from .checked_node import PoseGenNode

VideoOutputType = io.Custom("POSEGEN_VIDEO_OUTPUT")
RUN_FOLDER_ACTIONS = ("list", "remove all", "remove one")


def runs_root() -> Path:
    return Path(folder_paths.get_output_directory()) / RUNS_FOLDER


def video_path(filename_prefix: str, width: int, height: int) -> tuple[Path, str, str]:
    """The next free ``<prefix>_NNNNN_.mp4`` in ComfyUI's output folder (as Save Video numbers its files), and
    the file's name and subfolder for the preview. ComfyUI refuses a prefix that leads outside the folder."""
    try:
        folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(
            filename_prefix, folder_paths.get_output_directory(), width, height)
    except Exception as exc:  # ComfyUI raises a bare Exception for a prefix outside the output folder
        raise PoseGenInputError("filename_prefix", f"'{filename_prefix}': {exc}",
                                "a name inside ComfyUI's output folder") from exc
    file = f"{name}_{counter:05}_.mp4"
    return Path(folder) / file, file, subfolder


def output_linked(prompt: dict | None, node_id: str | None, index: int) -> bool:
    """Whether any node of the queued prompt takes output ``index`` of node ``node_id``."""
    if not prompt or node_id is None:
        return True  # not run by ComfyUI's executor: keep everything
    for node in prompt.values():
        for value in (node.get("inputs") or {}).values():
            if isinstance(value, list) and len(value) == 2 and str(value[0]) == str(node_id) and value[1] == index:
                return True
    return False


class PoseGenVideoOutput(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenVideoOutput",
            display_name="PoseGen Video Output",
            category="PoseGen/long video",
            description="How the Segment Sampler writes its video while it generates it: the file under ComfyUI's "
            "output folder, its encoding and frame rate, and whether the run folder (the finished work that lets "
            "a stopped run continue) stays after the video is complete. Unconnected: posegen/long_video, "
            "near-lossless, the driving poses' frame rate, run folder removed.",
            inputs=[
                io.String.Input("filename_prefix", default="posegen/long_video",
                                tooltip="Under ComfyUI's output folder; numbered like Save Video's files."),
                io.Combo.Input("encoding", options=list(ENCODINGS), default="near-lossless",
                               tooltip="H.264 MP4. lossless: RGB, exactly the frames (large); near-lossless: 4:4:4 "
                               "at CRF 4 (visually identical); compact: 4:2:0 at CRF 19, what players expect."),
                io.Float.Input("fps", default=0.0, min=0.0, max=240.0, step=0.001,
                               tooltip="0 = the driving poses' frame rate (16, Wan's, when they carry none)."),
                io.Boolean.Input("keep_run_folder", default=False,
                                 tooltip="Keep the finished latents after the video is complete (they are always "
                                 "kept when a run stops early, so queueing it again continues)."),
            ],
            outputs=[VideoOutputType.Output(display_name="output")],
        )

    @classmethod
    def execute(cls, filename_prefix: str, encoding: str, fps: float, keep_run_folder: bool) -> io.NodeOutput:
        return io.NodeOutput(VideoOutput(filename_prefix, encoding, fps, keep_run_folder))


class PoseGenRunFolders(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenRunFolders",
            display_name="PoseGen Run Folders",
            category="PoseGen/long video",
            description=f"The run folders under output/{RUNS_FOLDER}: the finished work of long videos that stopped "
            "before their end (queue the same graph again to continue one). List them, or remove them to free the "
            "disk.",
            inputs=[
                io.Combo.Input("action", options=list(RUN_FOLDER_ACTIONS), default="list",
                               tooltip="list: show them; remove all: delete every one; remove one: the folder named "
                               "by key."),
                io.String.Input("key", default="", tooltip="remove one: the folder's name (its run key)."),
            ],
            outputs=[io.String.Output(display_name="folders")],
            is_output_node=True,
        )

    @classmethod
    def fingerprint_inputs(cls, action: str, key: str) -> float:
        return float("nan")  # the folders change between runs: always look again

    @classmethod
    def execute(cls, action: str, key: str) -> io.NodeOutput:
        root = runs_root()
        folders = list_run_folders(root)
        if action == "remove one":
            if key not in {f.key for f in folders}:
                raise PoseGenInputError("key", f"'{key}' is not a run folder under {root}.",
                                        f"one of {[f.key for f in folders]}")
            removed = remove_run_folders(root, only=key)
        elif action == "remove all":
            removed = remove_run_folders(root)
        else:
            removed = []
        gone = {f.key for f in removed}
        lines = [f"{'removed' if f.key in gone else 'kept'} {f.key}: {f.bytes / 2**20:.1f} MiB, {f.description}"
                 for f in folders]
        text = "\n".join(lines) or f"no run folders under {root}"
        return io.NodeOutput(text, ui={"text": [text]})


NODES: list[type[io.ComfyNode]] = [PoseGenVideoOutput, PoseGenRunFolders]
