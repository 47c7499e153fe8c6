"""What the PoseGen and PoseAnything model families share on ComfyUI's Wan models: model sizes from configs
(``config``), the forward's numeric building blocks (``ops``, ``rope``) and modes (``numerics``), values made once
per sampling run (``run_cache``), the flow-matching schedule (``schedule``),
weight files and shard folders (``shards``), checkpoint names inside ComfyUI's model folders (``model_files``),
the ModelPatcher with strict checks (``patcher``) and the sampler step of a model call (``steps``).

ComfyUI: may import. Imports only ``errors``.
"""
