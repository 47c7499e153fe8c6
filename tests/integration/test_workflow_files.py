"""The shipped workflow files against a live server's /object_info.

We ship the example workflow twice: ``workflows/posegen_single_segment.api.json`` (POST /prompt) and
``workflows/posegen_single_segment.json`` (drag into ComfyUI), the second generated from the first by
``devtools.workflow_ui``. These tests keep the two from drifting, check the UI file against the node definitions
the server really has, and check that the tiny test prompt runs the same PoseGen graph as the real one.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from devtools.comfy_server import ComfyServer
from devtools.workflow_ui import (
    FRONTEND_ONLY_TYPES,
    NOTE_TYPES,
    api_to_ui,
    dump_json,
    extras_from,
    ui_to_api,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_API = REPO_ROOT / "workflows" / "posegen_single_segment.api.json"
REAL_UI = REPO_ROOT / "workflows" / "posegen_single_segment.json"
TINY_API = REPO_ROOT / "tests" / "workflows" / "posegen_single_segment_tiny.api.json"
# Every shipped API workflow has its UI twin: workflows/<name>.api.json <-> workflows/<name>.json
SHIPPED_PAIRS = [(api, api.with_name(api.name.replace(".api.json", ".json")))
                 for api in sorted((REPO_ROOT / "workflows").glob("*.api.json"))]


def regenerate_command(api: Path, ui: Path) -> str:
    api_rel, ui_rel = api.relative_to(REPO_ROOT), ui.relative_to(REPO_ROOT)
    return f"python -m devtools.workflow_ui {api_rel} {ui_rel} --from-server --keep-extras-from {ui_rel}"



# The encoder/loader nodes the tiny prompt swaps for test stand-ins; everything else must be the same graph.
REAL_ONLY_NODES = {"18": "CLIPLoader", "19": "CLIPVisionLoader"}
STAND_INS = {
    "3": ("CLIPTextEncode", "PoseGenStandInTextEncode"),
    "4": ("CLIPTextEncode", "PoseGenStandInTextEncode"),
    "6": ("PoseGenClipVisionEncode", "PoseGenStandInClipVisionEncode"),
}
# Links of the real prompt that feed the real encoders from their loaders: (source, slot, target, input).
REAL_ONLY_LINKS = {("18", 0, "3", "clip"), ("18", 0, "4", "clip"), ("19", 0, "6", "clip_vision")}

# Widget types of the core frontend (scripts/widgets.ts), restated here so the test does not trust the converter.
PLAIN_WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def object_info(comfy_server: ComfyServer) -> dict[str, Any]:
    return comfy_server.object_info()


def expected_widget_count(info: dict[str, Any]) -> int:
    """How many widgets_values ComfyUI_frontend 1.32 saves for a node class: one per widget input, one more
    for an INT's control_after_generate combo (explicit option, else the legacy seed/noise_seed names), two
    more for a combo's control (mode + filter list), and one for the upload button of media loaders."""
    count = 0
    upload = False
    for section in ("required", "optional"):
        for name, spec in (info["input"].get(section) or {}).items():
            type_ = "COMBO" if isinstance(spec[0], list) else spec[0]
            options = spec[1] if len(spec) > 1 else {}
            if type_ not in PLAIN_WIDGET_TYPES or options.get("forceInput"):
                continue
            count += 1
            if type_ == "INT" and options.get("control_after_generate", name in ("seed", "noise_seed")):
                count += 1
            if type_ == "COMBO" and options.get("control_after_generate"):
                count += 2
            media = ("image_upload", "video_upload", "animated_image_upload")
            if section == "required" and type_ == "COMBO" and any(options.get(f) for f in media):
                upload = True
    return count + upload


def input_spec_type(info: dict[str, Any], name: str) -> str:
    for section in ("required", "optional"):
        spec = (info["input"].get(section) or {}).get(name)
        if spec is not None:
            return "COMBO" if isinstance(spec[0], list) else str(spec[0])
    raise AssertionError(f"{info['name']} has no input {name!r}")


def check_ui_workflow(workflow: dict[str, Any], object_info: dict[str, Any]) -> None:
    """Node types exist, widgets_values have the frontend's length, and links are consistent and well typed."""
    assert workflow["version"] == 0.4
    nodes = {n["id"]: n for n in workflow["nodes"]}
    assert len(nodes) == len(workflow["nodes"]), "duplicate node ids"
    assert workflow["last_node_id"] == max(nodes)
    assert workflow["last_link_id"] == max((lk[0] for lk in workflow["links"]), default=0)
    for node in workflow["nodes"]:
        for key in ("id", "type", "pos", "size", "flags", "order", "mode", "properties"):
            assert key in node, f"node {node.get('id')} lacks {key!r}"
        if node["type"] in FRONTEND_ONLY_TYPES:
            assert node["type"] in NOTE_TYPES, f"node {node['id']}: unexpected frontend-only {node['type']}"
            continue
        info = object_info.get(node["type"])
        assert info, f"node {node['id']}: {node['type']} is not a node type of the live server"
        assert node["properties"]["Node name for S&R"] == node["type"]
        assert len(node["widgets_values"]) == expected_widget_count(info), (
            f"node {node['id']} ({node['type']}): widgets_values {node['widgets_values']!r}"
        )
        assert len(node["outputs"]) == len(info["output"])
        for slot, out in enumerate(node["outputs"]):
            assert out["type"] == info["output"][slot] or isinstance(info["output"][slot], list)
            assert out["slot_index"] == slot

    seen_links: set[int] = set()
    for link_id, src, src_slot, dst, dst_slot, link_type in workflow["links"]:
        assert link_id not in seen_links
        seen_links.add(link_id)
        source, target = nodes[src], nodes[dst]
        out_type = object_info[source["type"]]["output"][src_slot]
        target_input = target["inputs"][dst_slot]
        assert target_input["link"] == link_id, f"link {link_id}: target slot {dst_slot} does not point back"
        assert link_id in (source["outputs"][src_slot]["links"] or []), f"link {link_id}: source does not list it"
        in_type = input_spec_type(object_info[target["type"]], target_input["name"])
        assert target_input["type"] == in_type
        if "COMBO" in (in_type, link_type) or isinstance(out_type, list):
            continue  # a combo fed by a node's list output: the frontend matches these by value, not type name
        assert link_type == out_type == in_type, (
            f"link {link_id} {source['type']}:{src_slot} -> {target['type']}.{target_input['name']}: "
            f"link {link_type}, output {out_type}, input {in_type}"
        )
    # Every link the nodes mention is in the links table.
    for node in workflow["nodes"]:
        for inp in node.get("inputs") or []:
            assert inp["link"] is None or inp["link"] in seen_links
        for out in node.get("outputs") or []:
            assert set(out["links"] or []) <= seen_links


def links_of(prompt: dict[str, Any]) -> set[tuple[str, int, str, str]]:
    return {
        (value[0], value[1], node_id, name)
        for node_id, node in prompt.items()
        for name, value in node["inputs"].items()
        if isinstance(value, list)
    }


def test_every_shipped_api_workflow_has_its_ui_twin() -> None:
    assert REAL_API in [api for api, _ in SHIPPED_PAIRS] and len(SHIPPED_PAIRS) >= 2
    for api, ui in SHIPPED_PAIRS:
        assert ui.is_file(), f"{api.name} has no UI form; make it with: {regenerate_command(api, ui)}"


@pytest.mark.parametrize("api_path, ui_path", SHIPPED_PAIRS, ids=[a.name for a, _ in SHIPPED_PAIRS])
def test_shipped_ui_workflow_converts_back_to_the_api_workflow(object_info, api_path: Path, ui_path: Path) -> None:
    assert ui_to_api(load(ui_path), object_info) == load(api_path), (
        f"the two shipped forms drifted apart; regenerate with: {regenerate_command(api_path, ui_path)}")


@pytest.mark.parametrize("api_path, ui_path", SHIPPED_PAIRS, ids=[a.name for a, _ in SHIPPED_PAIRS])
def test_shipped_ui_workflow_is_what_the_generator_makes(object_info, api_path: Path, ui_path: Path) -> None:
    # Byte for byte, so the documented command reproduces the file (layout, note and model links included).
    notes, props = extras_from(load(ui_path))
    fresh = dump_json(api_to_ui(load(api_path), object_info, notes=notes, node_properties=props))
    assert fresh == ui_path.read_text(encoding="utf-8"), (
        f"stale {ui_path.name}; regenerate with: {regenerate_command(api_path, ui_path)}")


@pytest.mark.parametrize("api_path, ui_path", SHIPPED_PAIRS, ids=[a.name for a, _ in SHIPPED_PAIRS])
def test_shipped_ui_workflows_match_the_live_node_definitions(object_info, api_path: Path, ui_path: Path) -> None:
    check_ui_workflow(load(ui_path), object_info)


def test_single_segment_workflow_details(object_info: dict[str, Any]) -> None:
    ui = load(REAL_UI)
    by_type = {n["type"]: n for n in ui["nodes"]}
    # The seed stays 42 when the workflow runs: its control_after_generate entry is "fixed", not "randomize".
    assert by_type["RandomNoise"]["widgets_values"] == [42, "fixed"]
    assert by_type["LoadImage"]["widgets_values"] == ["reference.png", "image"]
    assert by_type["LoadVideo"]["widgets_values"] == ["pose.mp4", "image"]
    # Users are told where the real weights go, and offered the Wan 2.1 downloads.
    notes = [n for n in ui["nodes"] if n["type"] == "Note"]
    assert len(notes) == 1 and "models/" in notes[0]["widgets_values"][0]
    offered = {m["name"] for n in ui["nodes"] for m in n["properties"].get("models", [])}
    assert offered == {"wan_2.1_vae.safetensors", "umt5_xxl_fp16.safetensors", "clip_vision_h.safetensors"}
    # Titles carry over, so the node names users see are the API form's.
    assert {str(n["id"]): n["title"] for n in ui["nodes"] if n["type"] not in NOTE_TYPES} == {
        k: v["_meta"]["title"] for k, v in load(REAL_API).items()
    }


# Each tiny test prompt and the shipped real-weights workflow it stands for: (real, tiny, real-only nodes,
# stand-in swaps, real-only links)
TINY_TWINS = {
    "single segment": (REAL_API, TINY_API, REAL_ONLY_NODES, STAND_INS, REAL_ONLY_LINKS),
    "long video": (
        REPO_ROOT / "workflows" / "posegen_long_video.api.json",
        REPO_ROOT / "tests" / "workflows" / "posegen_long_video_tiny.api.json",
        {"4": "CLIPLoader", "7": "CLIPVisionLoader"},
        {"5": ("PoseGenTextEncode", "PoseGenStandInTextEncode"), "6": ("CLIPTextEncode", "PoseGenStandInTextEncode"),
         "9": ("PoseGenClipVisionEncode", "PoseGenStandInClipVisionEncode")},
        {("4", 0, "5", "clip"), ("4", 0, "6", "clip"), ("7", 0, "9", "clip_vision")},
    ),
    "posecrafter long video": (
        REPO_ROOT / "workflows" / "posegen_posecrafter_long_video.api.json",
        REPO_ROOT / "tests" / "workflows" / "posegen_posecrafter_long_video_tiny.api.json",
        {"4": "CLIPLoader", "7": "CLIPVisionLoader"},
        {"5": ("PoseGenTextEncode", "PoseGenStandInTextEncode"), "6": ("CLIPTextEncode", "PoseGenStandInTextEncode"),
         "9": ("PoseGenClipVisionEncode", "PoseGenStandInClipVisionEncode")},
        {("4", 0, "5", "clip"), ("4", 0, "6", "clip"), ("7", 0, "9", "clip_vision")},
    ),
}


REPLACED = REPO_ROOT / "tests" / "workflows" / "replaced"  # shipped graphs as saved before the option nodes


def test_graphs_saved_before_the_option_nodes_still_load(object_info: dict[str, Any]) -> None:
    """The replaced Segment Sampler keeps its old inputs in their old order (all optional), so an old UI graph
    loads with its widget values in place and converts to the prompt it was saved as; running it then says what
    replaced what (tests/integration/test_long_video.py)."""
    ui = load(REPLACED / "posegen_posecrafter_long_video.json")
    assert {n["type"] for n in ui["nodes"]} >= {"PoseGenSegmentSampler"}
    check_ui_workflow(ui, object_info)
    assert ui_to_api(ui, object_info) == load(REPLACED / "posegen_posecrafter_long_video.api.json")
    assert object_info["PoseGenSegmentSampler"]["deprecated"] and object_info["PoseGenTransitionBlend"]["deprecated"]


def test_long_video_workflows_compose_the_sampler_from_option_nodes() -> None:
    for name, sampler in (("posegen_long_video", "KSamplerSelect"),
                          ("posegen_posecrafter_long_video", "PoseGenFaceHandEditSampler")):
        prompt = load(REPO_ROOT / "workflows" / f"{name}.api.json")
        inputs = prompt["15"]["inputs"]
        assert prompt["15"]["class_type"] == "PoseGenLongVideoSampler"
        assert prompt[inputs["sampler"][0]]["class_type"] == sampler
        assert prompt[inputs["layout"][0]]["inputs"] == {"segment_length": 81, "head_overlap": 21, "tail_overlap": 20}
        kv = prompt[inputs["kv_sharing"][0]]["inputs"]
        assert (kv["anchor_segment"], kv["framing"], kv["mask_mode"]) == (0, "half-body", "attention")
    assert "KSamplerSelect" not in {n["class_type"] for n in load(REPO_ROOT / "workflows" /
                                                                    "posegen_posecrafter_long_video.api.json").values()}


@pytest.mark.parametrize("twin", sorted(TINY_TWINS))
def test_tiny_and_real_prompts_run_the_same_posegen_graph(object_info: dict[str, Any], twin: str) -> None:
    real_path, tiny_path, real_only_nodes, stand_ins, real_only_links = TINY_TWINS[twin]
    real, tiny = load(real_path), load(tiny_path)
    assert set(real) - set(tiny) == set(real_only_nodes)
    assert set(tiny) - set(real) == set()
    assert {k: real[k]["class_type"] for k in real_only_nodes} == real_only_nodes
    differing = {k: (real[k]["class_type"], tiny[k]["class_type"]) for k in tiny if real[k] != tiny[k]}
    class_changes = {k: v for k, v in differing.items() if v[0] != v[1]}
    assert class_changes == stand_ins
    for k in set(tiny) - set(stand_ins):  # same class, same input names (values may be smaller)
        assert real[k]["inputs"].keys() == tiny[k]["inputs"].keys(), f"node {k} ({real[k]['class_type']})"
    assert links_of(real) - links_of(tiny) == real_only_links
    assert links_of(tiny) - links_of(real) == set()
    for stand_in in {t for _, t in stand_ins.values()}:  # the stand-ins are served by the test server
        assert stand_in in object_info


def test_tiny_prompt_round_trips_through_the_ui_form(object_info: dict[str, Any]) -> None:
    tiny = load(TINY_API)
    ui = api_to_ui(tiny, object_info)
    check_ui_workflow(ui, object_info)
    assert ui_to_api(ui, object_info) == tiny
    assert ui_to_api(api_to_ui(load(REAL_API), object_info), object_info) == load(REAL_API)


def test_ui_to_api_skips_frontend_only_nodes_and_follows_reroutes(object_info: dict[str, Any]) -> None:
    tiny = load(TINY_API)
    ui = api_to_ui(tiny, object_info)
    # Route VAEDecode's vae input through a Reroute and add a note: neither may reach the API form.
    decode = next(n for n in ui["nodes"] if n["type"] == "VAEDecode")
    vae_input = next(i for i in decode["inputs"] if i["name"] == "vae")
    link = next(lk for lk in ui["links"] if lk[0] == vae_input["link"])
    vae_slot = decode["inputs"].index(vae_input)
    reroute_id, note_id, new_link = 100, 101, ui["last_link_id"] + 1
    ui["nodes"] += [
        {"id": reroute_id, "type": "Reroute", "pos": [0, 0], "size": [75, 26], "flags": {}, "order": 0, "mode": 0,
         "inputs": [{"name": "", "type": "*", "link": link[0]}],
         "outputs": [{"name": "", "type": "VAE", "links": [new_link], "slot_index": 0}],
         "properties": {"showOutputText": False, "horizontal": False}},
        {"id": note_id, "type": "Note", "pos": [0, 0], "size": [200, 80], "flags": {}, "order": 0, "mode": 0,
         "inputs": [], "outputs": [], "properties": {"text": ""}, "widgets_values": ["hello"]},
    ]  # fmt: skip
    link[3], link[4] = reroute_id, 0  # the VAE now feeds the reroute, which feeds VAEDecode
    ui["links"].append([new_link, reroute_id, 0, decode["id"], vae_slot, "VAE"])
    vae_input["link"] = new_link
    ui["last_node_id"], ui["last_link_id"] = note_id, new_link
    assert ui_to_api(ui, object_info) == tiny


def test_ui_to_api_drops_bypassed_and_muted_nodes_like_the_frontend(object_info: dict[str, Any]) -> None:
    tiny = load(TINY_API)
    # Put an ImageInvert between the reference image and the conditioning, then bypass it: the API form must
    # link the conditioning straight to the image again. Muting it instead leaves reference_image unlinked.
    with_invert = copy.deepcopy(tiny)
    with_invert["50"] = {"class_type": "ImageInvert", "inputs": {"image": ["5", 0]}, "_meta": {"title": "Invert"}}
    with_invert["9"]["inputs"]["reference_image"] = ["50", 0]
    ui = api_to_ui(with_invert, object_info)
    assert ui_to_api(ui, object_info) == with_invert
    invert = next(n for n in ui["nodes"] if n["id"] == 50)
    invert["mode"] = 4
    assert ui_to_api(ui, object_info) == tiny
    invert["mode"] = 2
    muted = ui_to_api(ui, object_info)
    assert "50" not in muted and "reference_image" not in muted["9"]["inputs"]


# A made-up node class covering every widget rule the converter must get right, independent of core nodes.
FAKE_INFO: dict[str, Any] = {
    "Fake": {
        "input": {
            "required": {
                "seed": ["INT", {"default": 1}],  # legacy name: control widget without the option
                "other_seed": ["INT", {"control_after_generate": True}],
                "seed_no_control": ["INT", {"control_after_generate": False}],
                "mode": [["a", "b"], {"control_after_generate": True}],  # combo control: mode + filter entries
                "text": ["STRING", {"forceInput": True}],  # a socket, not a widget
                "file": ["COMBO", {"options": ["x.png"], "image_upload": True}],  # adds the upload button
                "image": ["IMAGE"],
            },
            "optional": {"flag": ["BOOLEAN", {"default": True}], "extra": ["IMAGE"]},
            "hidden": {"prompt": "PROMPT"},
        },
        "input_order": {
            "required": ["image", "seed", "other_seed", "seed_no_control", "mode", "text", "file"],
            "optional": ["extra", "flag"],
        },
        "output": ["IMAGE", "INT"],
        "output_name": ["IMAGE", "number"],
        "name": "Fake",
        "display_name": "Fake node",
        "output_node": False,
    },
}


def test_widget_rules_on_a_made_up_node_class() -> None:
    prompt = {
        "1": {"class_type": "Fake", "inputs": {"image": ["2", 0], "seed": 7, "other_seed": ["2", 1],
                                              "seed_no_control": 3, "mode": "b", "file": "x.png",
                                              "flag": False}, "_meta": {"title": "one"}},
        "2": {"class_type": "Fake", "inputs": {"seed": 1, "other_seed": 2, "seed_no_control": 3, "mode": "a",
                                              "file": "y.png", "flag": True}, "_meta": {"title": "two"}},
    }  # fmt: skip
    ui = api_to_ui(prompt, FAKE_INFO)
    one = next(n for n in ui["nodes"] if n["id"] == 1)
    # seed+control, other_seed (linked: keeps a placeholder)+control, seed_no_control, mode+control+filter,
    # file, flag, then the upload button. "text" is a socket, so not here.
    assert one["widgets_values"] == [7, "fixed", 0, "fixed", 3, "b", "fixed", "", "x.png", False, "image"]
    # Sockets in input order, then the widget input that a link drives.
    assert [(i["name"], i.get("widget"), i.get("shape")) for i in one["inputs"]] == [
        ("image", None, None),
        ("text", None, None),
        ("extra", None, 7),
        ("other_seed", {"name": "other_seed"}, None),
    ]
    assert [i["link"] is not None for i in one["inputs"]] == [True, False, False, True]
    assert ui["links"] == [[1, 2, 0, 1, 0, "IMAGE"], [2, 2, 1, 1, 3, "INT"]]
    assert one["title"] == "one" and one["outputs"][1]["name"] == "number"
    assert len(one["widgets_values"]) == expected_widget_count(FAKE_INFO["Fake"])  # the test's own rules agree
    assert ui_to_api(ui, FAKE_INFO) == prompt
    # A widgets_values list of the wrong length is an error, not a silent shift of values.
    one["widgets_values"].pop()
    with pytest.raises(ValueError, match="widgets_values"):
        ui_to_api(ui, FAKE_INFO)


def test_api_to_ui_rejects_inputs_the_class_does_not_have() -> None:
    prompt = {"1": {"class_type": "Fake", "inputs": {"seed": 1, "sede": 2}}}
    with pytest.raises(ValueError, match="sede"):
        api_to_ui(prompt, FAKE_INFO)
    # A literal value on a socket-only input (forceInput) has no place in the UI form: refuse, do not drop it.
    with pytest.raises(ValueError, match="text"):
        api_to_ui({"1": {"class_type": "Fake", "inputs": {"text": "hi"}}}, FAKE_INFO)
    with pytest.raises(KeyError, match="Missing"):
        api_to_ui({"1": {"class_type": "Missing", "inputs": {}}}, FAKE_INFO)
