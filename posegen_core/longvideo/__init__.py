"""Arbitrarily long PoseGen video (docs/method/posegen.md §4-§6): the segment plan, anchor K/V sharing and its
foreground masks, transitions with the cond model, the cross-fade merge, and the run that puts them together.

Modules: ``plan`` (chunk layout), ``kvshare`` + ``masks`` (anchor K/V and foreground masks), ``merge`` (cross-fade),
``subject`` (the subject word's tokens), and the run's parts: ``options`` (settings and the option objects the nodes
make), ``noise`` (what segments start from), ``chunk_sampler`` (one chunk through ComfyUI, the per-chunk SAMPLER),
``checks`` (input checks), ``memory`` (freeing memory between chunks) and ``run`` (the whole video).

ComfyUI: may import. Imports ``errors``, ``poses``, ``wan``, ``posegen``, ``posecrafter``.
"""
