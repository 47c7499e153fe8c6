"""The PoseAnything model family (Wan2.2-TI2V-5B, any skeleton; docs/method/poseanything.md): loading onto
ComfyUI's Wan 2.2 model, conditioning with sparse skeletons, PTCM, decoupled subject/camera guidance, skeleton tools.

ComfyUI: may import. Imports ``errors``, ``poses``, ``wan`` (never ``posegen``).
"""
