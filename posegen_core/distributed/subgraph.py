"""The part of an API prompt that makes some of a node's inputs: those inputs' nodes and every node above them.

The workers run it in their own ComfyUI, so their models are made exactly as the driver's graph makes them
(checkpoints, weight dtypes, LoRA loaders, other packs' model patches), not guessed from a file name."""

from __future__ import annotations

from ..errors import PoseGenInputError


def is_link(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def upstream_graph(prompt: dict, node_id: str, inputs: tuple[str, ...]) -> tuple[dict, dict[str, list]]:
    """The prompt entries ``inputs`` of node ``node_id`` depend on, and where each input comes from
    ({input: [node id, output slot]})."""
    node = prompt.get(node_id)
    if node is None:
        raise PoseGenInputError("distributed", f"node {node_id} is not in the prompt.", "the prompt being run")
    wanted = {}
    for name in inputs:
        link = node.get("inputs", {}).get(name)
        if not is_link(link):
            raise PoseGenInputError(name, "is not connected to a node.", "a connected input (the workers make it "
                                    "by running the nodes above it)")
        wanted[name] = [link[0], link[1]]
    keep: set[str] = set()
    todo = [link[0] for link in wanted.values()]
    while todo:
        current = todo.pop()
        if current in keep:
            continue
        if current not in prompt:
            raise PoseGenInputError("distributed", f"node {current} feeds {node_id} but is not in the prompt.",
                                    "a complete prompt")
        keep.add(current)
        todo.extend(v[0] for v in prompt[current].get("inputs", {}).values() if is_link(v))
    return {k: prompt[k] for k in sorted(keep)}, wanted
