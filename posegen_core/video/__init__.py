"""Video files: writing frames to a file as they are made (PyAV, the library ComfyUI itself uses), never leaving a
half-written file under the final name, and reading them back.

ComfyUI: free (no ComfyUI imports; enforced by ruff TID251). Imports only ``errors``.
"""
