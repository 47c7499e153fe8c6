"""PoseCrafter's techniques on the PoseGen model: reference inversion, landmark affines, the face/hand latent edit
and the sampler that applies it.

ComfyUI: may import. Imports ``errors``, ``poses``, ``wan``, ``posegen``.
"""
