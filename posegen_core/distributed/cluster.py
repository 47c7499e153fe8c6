"""Where the workers run: a Ray instance this process starts on this machine (bound to 127.0.0.1), or a running
Ray cluster at an address. Ray is optional: without it, a clear message says how to get it.

Security: whoever reaches a Ray cluster's ports can run code on its machines. The local instance takes 127.0.0.1
as its node address and no dashboard, but Ray 2.60's servers listen on every interface whatever the address:
Ray's token authentication (on by default) and a firewall keep others out; a cluster address must be on a
trusted network (README, "Several GPUs")."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from ..errors import PoseGenInputError

LOCAL = "local"
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class DistributedOptions:
    """``cluster``: "local" or a Ray address ("host:port" of ``ray start --head``); ``workers``: how many, one
    device each (a GPU when the cluster has them, else a CPU); ``gpus_per_worker``: 0 = CPU workers."""

    cluster: str = LOCAL
    workers: int = 2
    gpus_per_worker: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.workers, int) or self.workers < 1:
            raise PoseGenInputError("workers", f"{self.workers}.", "a whole number of workers, at least 1")
        if self.gpus_per_worker < 0:
            raise PoseGenInputError("gpus_per_worker", f"{self.gpus_per_worker}.", "0 (CPU workers) or more")
        if self.cluster != LOCAL:
            _host_port(self.cluster)


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.strip().removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise PoseGenInputError("cluster", f"'{address}' is not a Ray address.",
                                "'local', or host:port of a running Ray head (ray start --head prints it)")
    return host, int(port)


def import_ray():
    try:
        import ray
    except ImportError as error:
        raise PoseGenInputError("distributed", "needs Ray, which is not installed in ComfyUI's Python.",
                                "pip install 'ray>=2.60' into the Python that runs ComfyUI, on every machine "
                                "(README, Several GPUs)") from error
    return ray


_connected: list[str] = []  # the cluster this process joined (Ray joins one per process)


def connect(options: DistributedOptions, runtime_env: dict, cpus_needed: int):
    """Ray, initialised for ``options`` (once per process: another cluster later is an error, not a switch)."""
    ray = import_ray()
    if options.cluster != LOCAL:
        host, port = _host_port(options.cluster)
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as error:
            raise PoseGenInputError("cluster", f"'{options.cluster}' cannot be reached ({error}).",
                                    "the address of a running Ray head (ray start --head) on a network this "
                                    "machine reaches, or 'local'") from error
    if ray.is_initialized():
        if _connected and _connected[0] != options.cluster:
            raise PoseGenInputError("cluster", f"'{options.cluster}', but this ComfyUI already runs its workers on "
                                    f"'{_connected[0]}'.", f"'{_connected[0]}', or restart ComfyUI to change it")
        return ray
    if options.cluster == LOCAL:
        import os

        ray.init(num_cpus=max(cpus_needed, os.cpu_count() or 1), include_dashboard=False, log_to_driver=False,
                 _node_ip_address="127.0.0.1", runtime_env=runtime_env, configure_logging=False)
    else:
        ray.init(address=options.cluster, log_to_driver=False, runtime_env=runtime_env, configure_logging=False)
    _connected[:] = [options.cluster]
    return ray
