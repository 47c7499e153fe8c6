"""Arbitrarily long PoseGen video (docs/method/posegen.md §4-§6): the segment plan, anchor K/V sharing and its
foreground masks, transitions with the cond model, the cross-fade merge, and the run that puts them together.

ComfyUI: may import. Imports ``errors``, ``poses``, ``wan``, ``posegen``, ``posecrafter``.
"""
