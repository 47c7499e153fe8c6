"""The cluster setting's errors: each names the input and what it expects, at once."""

import sys
import time

import pytest

from posegen_core.distributed.cluster import DistributedOptions, connect, import_ray
from posegen_core.errors import PoseGenInputError


def test_missing_ray_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(PoseGenInputError, match=r"distributed: needs Ray.*pip install 'ray>=2.60'"):
        import_ray()


@pytest.mark.parametrize("changes, fragment", [
    ({"workers": 0}, "workers: 0"),
    ({"gpus_per_worker": -1.0}, "gpus_per_worker: -1.0"),
    ({"cluster": "headnode"}, "cluster: 'headnode' is not a Ray address"),
    ({"cluster": "host:port"}, "cluster: 'host:port' is not a Ray address"),
])
def test_bad_options_are_named(changes, fragment):
    with pytest.raises(PoseGenInputError, match=fragment):
        DistributedOptions(**changes)


def test_an_unreachable_cluster_fails_within_seconds():
    started = time.monotonic()
    with pytest.raises(PoseGenInputError, match=r"cluster: '127.0.0.1:9' cannot be reached"):
        connect(DistributedOptions(cluster="127.0.0.1:9"), {}, 1)
    assert time.monotonic() - started < 10
