"""Arbitrarily long PoseGen video (docs/method/posegen.md §4-§6): the segment plan, anchor K/V sharing and its
foreground masks, transitions with the cond model, the cross-fade merge, and the run that puts them together.

Modules: ``plan`` (chunk layout), ``kvshare`` + ``masks`` (anchor K/V and foreground masks), ``merge`` (cross-fade),
``subject`` (the subject word's tokens), and the run's parts: ``options`` (settings and the option objects the nodes
make), ``noise`` (what segments start from), ``chunk_sampler`` (one chunk through ComfyUI, the per-chunk SAMPLER),
``checks`` (input checks), ``memory`` (freeing memory between chunks), ``frame_sources`` (driving frames drawn when
needed), ``base_segments`` (the base segments, in lockstep or anchor first), ``run`` (the whole video, streamed to a
sink), ``work_store`` + ``run_folder`` + ``run_key`` (finished work kept for resuming), ``memory_plan`` (what each
phase needs) and ``file_run`` (the video written to a file while it is made).

ComfyUI: may import. Imports ``errors``, ``poses``, ``wan``, ``posegen``, ``posecrafter``.
"""
