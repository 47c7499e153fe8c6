"""The workers' part of the prompt: exactly the nodes above the wanted inputs."""

import pytest

from posegen_core.distributed.subgraph import upstream_graph
from posegen_core.errors import PoseGenInputError

PROMPT = {
    "1": {"class_type": "LoadPoseGenModel", "inputs": {"name": "base"}},
    "2": {"class_type": "LoraLoaderModelOnly", "inputs": {"model": ["1", 0], "strength_model": 0.5}},
    "3": {"class_type": "VAELoader", "inputs": {"vae_name": "v"}},
    "4": {"class_type": "LoadImage", "inputs": {"image": "ref.png"}},
    "5": {"class_type": "Sampler", "inputs": {"base_model": ["2", 0], "vae": ["3", 0], "reference_image": ["4", 0],
                                              "steps": 3}},
}


def test_the_graph_holds_the_inputs_nodes_and_their_ancestors_only():
    graph, wanted = upstream_graph(PROMPT, "5", ("base_model", "vae"))
    assert sorted(graph) == ["1", "2", "3"]
    assert wanted == {"base_model": ["2", 0], "vae": ["3", 0]}
    assert graph["2"] == PROMPT["2"]


def test_an_unconnected_input_is_named():
    with pytest.raises(PoseGenInputError, match="steps"):
        upstream_graph(PROMPT, "5", ("steps",))
    with pytest.raises(PoseGenInputError, match="distributed"):
        upstream_graph(PROMPT, "9", ("vae",))
