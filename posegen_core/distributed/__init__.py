"""The long video on several workers (docs/distributed.md): the plan's jobs (``jobs``), their dependencies
(``schedule``), the driver that hands them out and keeps what comes back in the run's store (``driver``), and
pools of workers that run them (``local_pool`` in this process).

ComfyUI: may import. Imports ``errors``, ``longvideo``.
"""
