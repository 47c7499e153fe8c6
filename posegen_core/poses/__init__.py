"""Poses: one representation (PoseSequence on a Skeleton), readers, sequence operations, retargeting,
reference-frame selection and rendering. Pure numpy/OpenCV.

ComfyUI: free (no ComfyUI imports; enforced by ruff TID251). Imports only ``errors``.
"""
