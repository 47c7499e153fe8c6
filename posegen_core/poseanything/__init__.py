"""PoseAnything (Wan2.2-TI2V-5B based, any skeleton) on ComfyUI's own Wan 2.2 model: loading, conditioning, PTCM,
decoupled guidance and skeleton tools (spec: poseanything-model.md)."""
