"""The pack's core: everything the nodes call, testable without a ComfyUI server.

Packages, lowest first; a package imports only from packages above it in this list (tests/test_architecture.py
checks it, ruff's TID251 keeps the ComfyUI-free ones free of ComfyUI):

- ``errors``       PoseGenInputError, the one error type users see.                         ComfyUI-free.
- ``input_checks`` the values of IMAGE and MASK inputs: finite, in 0..1, RGB.               ComfyUI-free.
- ``poses``        poses of any skeleton: formats, extraction, sequence ops, retargeting, rendering.   ComfyUI-free.
- ``video``        video files written while they are made (PyAV), never half-written.   ComfyUI-free.
- ``wan``          what both model families share on ComfyUI's Wan: sizes, ops, RoPE, schedule, weight
                   files, the ModelPatcher, the step index.                                   May import ComfyUI.
- ``posegen``      the PoseGen model family (Wan2.1-I2V-14B + in-context LoRA).                May import ComfyUI.
- ``poseanything`` the PoseAnything model family (Wan2.2-TI2V-5B, any skeleton, PTCM).         May import ComfyUI.
- ``posecrafter``  PoseCrafter's techniques on PoseGen: inversion, face/hand latent edit.      May import ComfyUI.
- ``longvideo``    arbitrarily long PoseGen video: plan, anchor KV sharing, transitions, merge. May import ComfyUI.
- ``distributed``  the long video's chunks on several workers (Ray), same video bit for bit.  May import ComfyUI.
- ``golden``       the fidelity runner against the golden sets of the public code.          May import ComfyUI.

``input_checks`` imports only ``errors``. ``comfy_env`` (makes ComfyUI importable outside its server, for tests and
benchmarks) sits with ``errors``.
The two model families never import each other. The nodes (``../nodes``) import from here; nothing here imports
the nodes.

Section references in comments (``§4.4``, ``Appendix A``) are to docs/method/posegen.md, in PoseAnything's
files to docs/method/poseanything.md, unless the comment names another page or a paper; a test
(tests/test_doc_references.py) checks that each one resolves.
"""
