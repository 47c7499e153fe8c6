"""The long-video tests' tiny PoseGen base and cond models and VAE (one load per test module)."""

from ..longvideo.conftest import models  # noqa: F401 - a fixture, used by name
