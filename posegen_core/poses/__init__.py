"""Poses: one representation (PoseSequence on a Skeleton), readers, sequence operations, retargeting,
reference-frame selection and rendering. Pure numpy/OpenCV; no ComfyUI imports."""
