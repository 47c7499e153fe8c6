"""Small helpers for API-format prompts ({node_id: {"class_type", "inputs"}})."""

from __future__ import annotations


def node_of_type(prompt: dict, class_type: str) -> dict:
    """The (first) node of ``class_type``; a KeyError names the type if the prompt has none."""
    for node in prompt.values():
        if node.get("class_type") == class_type:
            return node
    raise KeyError(f"the prompt has no {class_type} node")
