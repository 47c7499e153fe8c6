"""A ComfyUI SAMPLER that edits the latent at a chosen step: ComfyUI's own Euler up to step k, the edit, Euler on.

PoseCrafter pastes the warped reference into the face and hand boxes before sampling (step 0); later steps keep
more of the model's own layout and use the edit as a nudge. The edit works on the sampler's state (a noisy latent
in the model's latent space), which is fine because warping and pasting are linear.

:class:`FaceHandEditSampler` is that SAMPLER for PoseCrafter's face/hand edit. On its own (SamplerCustomAdvanced)
it edits the one segment it samples; the long-video Segment Sampler specialises it per chunk (``for_chunk``), so
that every base segment gets the edit planned on its own frames of the driving poses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import comfy.samplers
import numpy as np
import torch

from ..errors import PoseGenInputError
from ..poses.sequence import PoseSequence
from ..wan.stepwise import StepwiseEuler
from .face_hand import FaceHandEdit
from .latent_edit import EditPlan

LatentEdit = Callable[[torch.Tensor], torch.Tensor]


def editing_euler(edit: LatentEdit, at_step: int = 0):
    """``comfy.samplers.KSAMPLER`` running Euler with ``edit`` applied to the state before step ``at_step``."""
    import comfy.k_diffusion.sampling
    import comfy.samplers

    if at_step < 0:
        raise PoseGenInputError("at_step", f"{at_step}.", "0 or a later step")

    def sample(model, x, sigmas, extra_args=None, callback=None, disable=None):
        k = at_step
        if k >= len(sigmas) - 1:  # editing after the last step would paste noisy latent into the result
            raise PoseGenInputError("at_step", f"{k} in a schedule of {len(sigmas) - 1} steps.",
                                    f"a step from 0 to {len(sigmas) - 2}")
        if k > 0:
            x = comfy.k_diffusion.sampling.sample_euler(model, x, sigmas[:k + 1], extra_args=extra_args,
                                                        callback=callback, disable=disable)
        x = edit(x)

        def shifted(info: dict) -> None:  # the second run counts its steps from 0
            callback({**info, "i": info["i"] + k})

        return comfy.k_diffusion.sampling.sample_euler(model, x, sigmas[k:], extra_args=extra_args,
                                                       callback=shifted if callback else None, disable=disable)

    sampler = comfy.samplers.KSAMPLER(sample)
    sampler.stepwise = StepwiseEuler({at_step: edit})  # the same arithmetic in pieces (the lockstep anchor)
    return sampler


class FaceHandEditSampler(comfy.samplers.KSAMPLER):
    """ComfyUI's Euler with PoseCrafter's face/hand edit before step ``edit.at_step``, planned when sampling starts
    on the latent's own size.

    Used as it is (SamplerCustomAdvanced), ``targets`` are the sampled segment's poses, one per video frame. The
    long-video Segment Sampler calls :meth:`for_chunk` instead, with ``targets`` the whole driving video's poses.
    """

    def __init__(self, edit: FaceHandEdit, targets: PoseSequence,
                 on_plan: Callable[[EditPlan], None] | None = None) -> None:
        super().__init__(editing_euler(edit.editor_for(targets, on_plan), edit.at_step).sampler_function)
        self.edit, self.targets = edit, targets

    def for_chunk(self, kind: str, frames: np.ndarray, *, label: str, steps: int, inverted_start: bool,
                  report: Callable[[str], None]) -> Any:
        """The SAMPLER for one chunk of a long video. ``frames``: the driving frame each pixel frame of the chunk
        shows (-1 = the inserted reference pose); ``inverted_start``: the chunk starts from the inverted reference.

        Base segments get the edit planned on their own frames, whose plan summary goes to ``report``;
        transitions get plain Euler (their latent holds no reference to move)."""
        if kind != "base":
            return comfy.samplers.sampler_object("euler")
        at_step = self.edit.at_step
        if at_step >= steps:
            raise PoseGenInputError("face_hand_edit", f"edits at step {at_step} of a {steps}-step schedule.",
                                    f"a step from 0 to {steps - 1}")
        frames = np.asarray(frames, dtype=np.int64)
        inserted = len(frames) > 0 and frames[0] < 0
        if not inverted_start and not (inserted and at_step > 0):
            raise PoseGenInputError("face_hand_edit", "there is no reference in the latent to move: without the "
                                    "inverted reference every frame starts as random noise.",
                                    "Reference Inversion's noise on start_noise, or reference-pose insertion and "
                                    "an edit at a later step (at_step > 0), when the inserted frame shows the "
                                    "reference")
        driving = frames[frames >= 0]
        if driving.size and int(driving.max()) >= self.targets.num_frames:
            raise PoseGenInputError("target_poses", f"{self.targets.num_frames} poses, but {label} shows driving "
                                    f"frame {int(driving.max())}.", "the poses of the whole driving video, one per "
                                    "pose frame (the POSE_KEYPOINT the pose frames were rendered from)")
        editor = self.edit.editor_for(self.targets, frames=frames,
                                      on_plan=lambda plan: report(f"face/hand edit, {label}: {plan.summary()}"))
        return editing_euler(editor, at_step)
