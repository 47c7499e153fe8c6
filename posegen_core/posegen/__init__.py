"""The PoseGen model family: Wan2.1-I2V-14B with an in-context LoRA, the reference as extra self-attention tokens
and the pose as extra latent channels (docs/method/posegen.md §1-§3). Checkpoint reading and LoRA merge, the
converted-file writer, the config, ComfyUI's WAN21 model with PoseGen's forward, the conditioning, CLIP
preprocessing, and the attention hook the long video uses.

ComfyUI: may import. Imports ``errors``, ``poses``, ``wan``.
"""
