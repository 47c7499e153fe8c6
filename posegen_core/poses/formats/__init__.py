"""Pose readers and writers; everything is read into, and written from, a :class:`PoseSequence`.

One module per format (import from the module, this package re-exports nothing):

- ``checks``    PoseInputError and the validators every reader shares (numbers, canvas sizes, point arrays).
- ``frames``    cn_aux/OpenPose frame objects (``people``, AP10K ``animals``, posegen ``subjects``) -> sequence.
- ``keypoint``  ComfyUI's POSE_KEYPOINT value: read (list, frame or JSON text) and write.
- ``openpose``  OpenPose JSON files and folders (COCO-18 or BODY_25 per-frame output).
- ``coco``      COCO-WholeBody-133 arrays and files (Sapiens, RTMPose, mmpose).
- ``files``     file helpers: natural ordering, JSON loading, skeleton definition files.

Rules shared by the readers
- A keypoint is missing when its confidence is 0 (an all-zero triple, OpenPose's and cn_aux's "not found"); a
  missing point's x, y are stored as 0. A whole part given as ``null`` is missing.
- Confidences: cn_aux writes 1.0/0.0, other tools real scores. A value within ``SCORE_TOLERANCE`` (0.01) outside
  [0, 1] is float noise and is clamped; anything further out is an error, not silently clipped.
- Coordinates must be finite numbers within ``MAX_COORDINATE`` pixels of the origin (they may lie outside the
  canvas; poses leave the frame).
- Normalized coordinates: DWPose writes pixels, cn_aux's OpenPose preprocessor values in [0, 1]. A sequence is read
  as normalized, and scaled by the canvas size, when every present coordinate of every frame lies in [0, 1] and
  both canvas sides exceed 2 pixels (on a 2x2 canvas pixels and fractions cannot be told apart). Frames written
  by ``keypoint.to_pose_keypoint`` say ``"units": "pixels"`` in their ``posegen`` block, which overrides the guess
  (a pose squeezed into the top-left pixel then still round-trips).
"""
