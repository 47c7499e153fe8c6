"""PoseGenLoadPoses and PoseGenExtractPoses: pose data into the graph, from files or from frames."""

from __future__ import annotations

from pathlib import Path

import comfy.model_management
import comfy.utils
import folder_paths
from comfy_api.v0_0_2 import io

from ..posegen_core.errors import PoseGenInputError
from ..posegen_core.poses.extract_mediapipe import PoseExtractionUnavailable, extract_poses
from ..posegen_core.poses.sources import FORMATS, list_pose_sources, load_pose_source, resolve_source
from .checked_node import PoseGenNode
from .pose_common import PoseKeypoint, images_to_uint8, pose_output

NO_SKELETON = "(none)"


def _input_root() -> Path:
    return Path(folder_paths.get_input_directory())


class PoseGenLoadPoses(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        sources = list_pose_sources(_input_root())
        skeletons = [NO_SKELETON, *(s for s in sources if s.endswith(".json"))]
        return io.Schema(
            node_id="PoseGenLoadPoses",
            display_name="Load Poses",
            category="PoseGen/poses",
            description="Reads pose keypoints from ComfyUI's input folder: a POSE_KEYPOINT JSON as "
            "comfyui_controlnet_aux saves it, OpenPose per-frame JSON files (COCO-18 or BODY_25, a file or a "
            "folder), COCO-WholeBody-133 persons (PoseGen's Sapiens format, .json or .npy), or a .npy array of any "
            "skeleton described by a skeleton JSON file. Outputs POSE_KEYPOINT with a preview.",
            inputs=[
                io.Combo.Input("source", options=sources, tooltip="A pose file or folder in ComfyUI/input."),
                io.Combo.Input("format", options=list(FORMATS), default="auto",
                               tooltip="auto recognises the JSON kinds; arrays of custom skeletons need "
                               "'array + skeleton file'."),
                io.Int.Input("width", default=0, min=0, max=16384,
                             tooltip="Canvas width; 0 = from the file, else the smallest canvas holding the points."),
                io.Int.Input("height", default=0, min=0, max=16384, tooltip="Canvas height; 0 as for width."),
                io.Float.Input("fps", default=0.0, min=0.0, max=1000.0, step=0.001,
                               tooltip="Frame rate of the poses; 0 = from the file or unknown."),
                io.Combo.Input("skeleton_file", options=skeletons, default=NO_SKELETON, optional=True,
                               tooltip="For a custom skeleton: JSON {name, keypoints: [...], edges: [[a, b], ...]}."),
            ],
            outputs=[PoseKeypoint.Output(display_name="pose_keypoint")],
        )

    @classmethod
    def execute(cls, source: str, format: str, width: int, height: int, fps: float,
                skeleton_file: str = NO_SKELETON) -> io.NodeOutput:
        root = _input_root()
        skeleton = None if skeleton_file in (None, NO_SKELETON) else resolve_source(root, skeleton_file,
                                                                                    "skeleton_file")
        seq = load_pose_source(resolve_source(root, source, "source"), format, width=width or None,
                               height=height or None, fps=fps or None, skeleton_path=skeleton)
        return pose_output(seq)


class PoseGenExtractPoses(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenExtractPoses",
            display_name="Extract Poses (MediaPipe)",
            category="PoseGen/poses",
            description="Whole-body keypoints (OpenPose-18 body, feet, face, hands) of the main person in every "
            "frame, with MediaPipe Holistic's bundled models on the CPU (no download; optional dependency "
            "mediapipe==0.10.21). For DWPose quality, feed comfyui_controlnet_aux's POSE_KEYPOINT instead.",
            inputs=[
                io.Image.Input("images", tooltip="Frames of a driving video, or a reference image."),
                io.Float.Input("fps", default=0.0, min=0.0, max=1000.0, step=0.001,
                               tooltip="Frame rate of the frames (e.g. from Get Video Components); 0 = unknown."),
                io.Float.Input("min_confidence", default=0.5, min=0.0, max=1.0, step=0.05,
                               tooltip="MediaPipe's person detection and tracking threshold."),
                io.Boolean.Input("refine_face", default=True,
                                 tooltip="Run the attention face model (adds the pupils; a little slower)."),
            ],
            outputs=[PoseKeypoint.Output(display_name="pose_keypoint")],
        )

    @classmethod
    def execute(cls, images, fps: float, min_confidence: float, refine_face: bool) -> io.NodeOutput:
        if images is None or images.dim() != 4 or images.shape[0] == 0:
            raise PoseGenInputError("images", f"got {tuple(getattr(images, 'shape', ()))}.",
                                    "an IMAGE batch with at least one frame")
        bar = comfy.utils.ProgressBar(images.shape[0])
        try:
            seq = extract_poses(images_to_uint8(images), progress=lambda done, total: bar.update_absolute(done, total),
                                should_stop=comfy.model_management.throw_exception_if_processing_interrupted,
                                min_confidence=min_confidence, refine_face=refine_face)
        except PoseExtractionUnavailable as exc:
            raise PoseGenInputError("images", exc.problem) from exc
        if fps:
            seq = seq.with_keypoints(seq.keypoints, fps=fps)
        return pose_output(seq)
