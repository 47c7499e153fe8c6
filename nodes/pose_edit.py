"""Pose editing nodes: sequence operations, retargeting, and PoseCrafter's reference-frame tools."""

from __future__ import annotations

from comfy_api.v0_0_2 import io

from ..posegen_core.errors import PoseGenInputError, inputs_named
from ..posegen_core.poses.edit import PAD_MODES, PERSON_MODES, SMOOTHING, SequenceEdit, apply_edit
from ..posegen_core.poses.formats.keypoint import to_pose_keypoint
from ..posegen_core.poses.reference import drop_inserted, insert_reference_pose, select_reference_frame
from ..posegen_core.poses.retarget import retarget, retarget_report
from .checked_node import PoseGenNode
from .pose_common import PoseKeypoint, pose_input, pose_output, preview_ui, read_poses


class PoseGenPoseSequence(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenPoseSequence",
            display_name="Pose Sequence",
            category="PoseGen/poses",
            description="Prepares a pose sequence, in this order: choose one person, trim, change the frame rate "
            "(keypoints are interpolated, not frames dropped), smooth jitter (one-euro filter, keeps fast "
            "motion), loop/mirror/hold to a length, keep only keyframes (sparse control). Every step is off at "
            "its default.",
            inputs=[
                pose_input(),
                io.Combo.Input("person", options=list(PERSON_MODES), default="largest",
                               tooltip="largest per frame; track: the same person across frames; index: a slot."),
                io.Int.Input("person_index", default=0, min=0, max=64, tooltip="The slot for person = index."),
                io.Int.Input("start", default=0, min=0, max=1_000_000, tooltip="First frame kept."),
                io.Int.Input("end", default=0, min=0, max=1_000_000, tooltip="Frame after the last kept; 0 = the end."),
                io.Float.Input("source_fps", default=0.0, min=0.0, max=1000.0, step=0.001,
                               tooltip="Frame rate of the input; 0 = as recorded in the poses."),
                io.Float.Input("target_fps", default=0.0, min=0.0, max=1000.0, step=0.001,
                               tooltip="Resample to this frame rate (PoseGen plays at 30); 0 = keep."),
                io.Combo.Input("smoothing", options=list(SMOOTHING), default="off",
                               tooltip="One-euro filtering of keypoint jitter."),
                io.Int.Input("length", default=0, min=0, max=1_000_000,
                             tooltip="Pad (or cut) to this many frames; 0 = keep the length."),
                io.Combo.Input("pad_mode", options=list(PAD_MODES), default="mirror",
                               tooltip="mirror: play backwards from the last frame (PoseGen's padding); loop; hold."),
                io.String.Input("keyframes", default="", tooltip="Keep poses only on these frames, e.g. '0, 40, 80'."),
                io.Int.Input("keyframe_every", default=0, min=0, max=10_000,
                             tooltip="Keep poses only on every k-th frame; 0 = off."),
            ],
            outputs=[PoseKeypoint.Output(display_name="pose_keypoint"), io.Int.Output(display_name="frames"),
                     io.Float.Output(display_name="fps")],
        )

    @classmethod
    def execute(cls, pose_keypoint, person: str, person_index: int, start: int, end: int, source_fps: float,
                target_fps: float, smoothing: str, length: int, pad_mode: str, keyframes: str,
                keyframe_every: int) -> io.NodeOutput:
        edit = SequenceEdit(person=person, person_index=person_index, start=start, end=end, source_fps=source_fps,
                            target_fps=target_fps, smoothing=smoothing, length=length, pad_mode=pad_mode,
                            keyframes=keyframes, keyframe_every=keyframe_every)
        seq = apply_edit(read_poses(pose_keypoint), edit)
        return pose_output(seq, seq.num_frames, float(seq.fps or 0.0))


class PoseGenRetargetPoses(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenRetargetPoses",
            display_name="Retarget Poses",
            category="PoseGen/poses",
            description="Moves the driving motion onto the reference subject: every bone takes the reference's "
            "length (keeping the driving joint angles), the figure is placed on the reference's ground line and "
            "hips (or neck, for an upper-body reference), on the reference's canvas. Do this before rendering "
            "poses for PoseGen, which otherwise needs the two aligned by hand.",
            inputs=[
                pose_input("driving", "The driving pose sequence (human / OpenPose-18)."),
                pose_input("reference", "The reference subject's pose (its first frame is used), e.g. Extract Poses "
                           "on the reference image."),
                io.Int.Input("reference_person", default=0, min=0, max=64, tooltip="Person slot in the reference."),
            ],
            outputs=[PoseKeypoint.Output(display_name="pose_keypoint"), io.String.Output(display_name="report")],
        )

    @classmethod
    def execute(cls, driving, reference, reference_person: int) -> io.NodeOutput:
        driving_seq = read_poses(driving, "driving")
        reference_seq = read_poses(reference, "reference")
        result = retarget(driving_seq, reference_seq, reference_person)  # names driving, reference, reference_person
        report = retarget_report(result, reference_seq, driving_seq, reference_person).summary()
        return pose_output(result, report)


class PoseGenReferenceFrameSelect(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenReferenceFrameSelect",
            display_name="Reference Frame Select",
            category="PoseGen/poses",
            description="PoseCrafter's reference-frame selection: the frame of a reference clip whose pose is "
            "nearest (translation- and scale-normalised) to all target poses together (Eq. 5).",
            inputs=[
                io.Image.Input("reference_frames", tooltip="Frames of the reference clip."),
                pose_input("reference_poses", "Poses of those frames (same count)."),
                pose_input("target_poses", "The driving poses to generate."),
            ],
            outputs=[io.Image.Output(display_name="reference_image"),
                     PoseKeypoint.Output(display_name="reference_pose"), io.Int.Output(display_name="index")],
        )

    @classmethod
    def execute(cls, reference_frames, reference_poses, target_poses) -> io.NodeOutput:
        clip = read_poses(reference_poses, "reference_poses")
        if reference_frames is None or reference_frames.shape[0] != clip.num_frames:
            count = None if reference_frames is None else reference_frames.shape[0]
            raise PoseGenInputError("reference_frames", f"{count} frames but reference_poses has {clip.num_frames}.",
                                    "one pose per reference frame")
        target = read_poses(target_poses, "target_poses")
        with inputs_named({"reference_clip": "reference_poses", "target": "target_poses"}):
            index = select_reference_frame(clip, target)
        chosen = clip.frames([index])
        return io.NodeOutput(reference_frames[index:index + 1], to_pose_keypoint(chosen), index, ui=preview_ui(chosen))


class PoseGenInsertReferencePose(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenInsertReferencePose",
            display_name="Insert Reference Pose",
            category="PoseGen/poses",
            description="PoseCrafter's reference-pose insertion: puts the reference frame's pose into the target "
            "sequence (at the key position, 0 by default) and remembers it, so Drop Inserted Frames can remove "
            "the frame generated for it after sampling.",
            inputs=[
                pose_input("target_poses", "The driving poses."),
                pose_input("reference_pose", "The reference frame's pose (first frame used)."),
                io.Int.Input("position", default=0, min=0, max=1_000_000, tooltip="Where to insert (0 = first)."),
            ],
            outputs=[PoseKeypoint.Output(display_name="pose_keypoint")],
        )

    @classmethod
    def execute(cls, target_poses, reference_pose, position: int) -> io.NodeOutput:
        target = read_poses(target_poses, "target_poses")
        reference = read_poses(reference_pose, "reference_pose").frames([0])
        with inputs_named({"target": "target_poses", "reference_pose_frame": "reference_pose"}):
            return pose_output(insert_reference_pose(target, reference, position))


class PoseGenDropInsertedFrames(PoseGenNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PoseGenDropInsertedFrames",
            display_name="Drop Inserted Frames",
            category="PoseGen/poses",
            description="Removes the frames generated for inserted reference poses (see Insert Reference Pose).",
            inputs=[io.Image.Input("images", tooltip="The generated frames, one per pose."),
                    pose_input("pose_keypoint", "The pose sequence the frames were generated from.")],
            outputs=[io.Image.Output(display_name="images")],
        )

    @classmethod
    def execute(cls, images, pose_keypoint) -> io.NodeOutput:
        seq = read_poses(pose_keypoint)
        if images is None or images.shape[0] != seq.num_frames:
            count = None if images is None else images.shape[0]
            raise PoseGenInputError("images", f"{count} frames but the pose sequence has {seq.num_frames}.",
                                    "the frames generated from exactly that sequence")
        with inputs_named({"frames": "images"}):
            return io.NodeOutput(drop_inserted(images, seq))
