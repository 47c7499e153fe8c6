"""PoseGen for ComfyUI: long, identity-stable, pose-driven human video on Wan2.1-I2V (V3 node pack).

Registration goes through ``comfy_entrypoint`` only; exporting NODE_CLASS_MAPPINGS as well would make
ComfyUI ignore the entrypoint. The frontend folder is declared in pyproject.toml ([tool.comfy] web).
"""

from .nodes import comfy_entrypoint

__all__ = ["comfy_entrypoint"]
