"""Convert an API-format ComfyUI prompt into a UI-format workflow (what File -> Save writes), and back.

We ship each example workflow twice: the API form (``*.api.json``, for POST /prompt) and the UI form (``*.json``,
to drag into ComfyUI). The UI form is generated from the API form with :func:`api_to_ui`, and :func:`ui_to_api`
maps it back, so a test can prove that both forms describe the same graph.

Everything about a node class comes from the server's ``/object_info``: its inputs in order (``input_order``:
required, then optional), which of them are widgets and which are sockets, its outputs, and which widgets the
frontend follows with extra ``widgets_values`` entries (the ``control_after_generate`` combo, the upload button).
The rules mirror ComfyUI_frontend 1.32 (``litegraphService.ts``, ``useIntWidget.ts``, ``useComboWidget.ts``,
``uploadImage.ts``, ``executionUtil.ts``).

CLI::

    python -m devtools.workflow_ui API_JSON OUT_JSON --object-info OBJECT_INFO_JSON
    python -m devtools.workflow_ui API_JSON OUT_JSON --from-server [--note TEXT] [--keep-extras-from UI_JSON]

The shipped ``workflows/posegen_single_segment.json`` is regenerated (keeping its note and model links) with::

    python -m devtools.workflow_ui workflows/posegen_single_segment.api.json workflows/posegen_single_segment.json \\
        --from-server --keep-extras-from workflows/posegen_single_segment.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

# Input types the core frontend draws as widgets (ComfyWidgets in scripts/widgets.ts); list types are COMBOs.
WIDGET_TYPES = frozenset(
    {"INT", "FLOAT", "BOOLEAN", "STRING", "MARKDOWN", "COMBO", "IMAGEUPLOAD", "COLOR", "IMAGECOMPARE", "CHART",
     "GALLERIA", "TEXTAREA"}
)  # fmt: skip
# Nodes that exist only in the frontend (isVirtualNode): ComfyUI's own API export leaves them out.
FRONTEND_ONLY_TYPES = frozenset({"Note", "MarkdownNote", "Reroute", "PrimitiveNode"})
NOTE_TYPES = frozenset({"Note", "MarkdownNote"})
# Older frontends gave INT inputs with these names a control widget even without the option; 1.32 still does
# when the option is absent (useIntWidget.ts).
LEGACY_SEED_NAMES = frozenset({"seed", "noise_seed"})
# "fixed" keeps the saved seed, so the workflow reproduces the API prompt; the frontend default is "randomize".
CONTROL_MODE = "fixed"
UPLOAD_FLAGS = ("image_upload", "video_upload", "animated_image_upload")
UPLOAD_WIDGET_VALUE = "image"  # the upload button's value, which File -> Save writes into widgets_values

MODE_NEVER = 2  # muted
MODE_BYPASS = 4
OPTIONAL_SHAPE = 7  # RenderShape.HollowCircle: how the frontend marks optional sockets

# Layout, in canvas pixels. Heights follow LiteGraph's computeSize: 20 px per socket row, ~24 px per widget.
SLOT_H = 20
WIDGET_H = 24
NODE_PAD_H = 14
TITLE_H = 30
MULTILINE_H = 140
PREVIEW_H = 260  # upload nodes show the file, output nodes their result
MIN_W = 270
MAX_W = 480
TEXT_W = 420
COL_GAP = 70
ROW_GAP = 50
NOTE_SIZE = (640.0, 380.0)
NOTE_COLOR, NOTE_BGCOLOR = "#432", "#653"  # LGraphCanvas.node_colors.yellow, what new Note nodes get


@dataclass(frozen=True)
class InputDef:
    """One input of a node class, as the frontend builds it from /object_info."""

    name: str
    type: str  # "COMBO" for list-valued (legacy) combos, as the frontend's input slot type
    options: Mapping[str, Any]
    optional: bool
    is_widget: bool
    extra_values: tuple[Any, ...]  # widgets_values entries the frontend adds right after this widget's own value
    combo_values: tuple[Any, ...] = ()

    def default(self) -> Any:
        """A fresh widget's value: the input definition's default, else the first combo option, else a zero."""
        if "default" in self.options:
            return copy.deepcopy(self.options["default"])
        if self.combo_values:
            return self.combo_values[0]
        return {"INT": 0, "FLOAT": 0.0, "BOOLEAN": False}.get(self.type, "")


@dataclass(frozen=True)
class NodeDef:
    class_type: str
    display_name: str
    inputs: tuple[InputDef, ...]
    outputs: tuple[tuple[str, str], ...]  # (name, type)
    output_node: bool
    upload_widget: bool  # the frontend appends an upload button widget (value "image") after all others

    @property
    def sockets(self) -> list[InputDef]:
        return [i for i in self.inputs if not i.is_widget]

    @property
    def widgets(self) -> list[InputDef]:
        return [i for i in self.inputs if i.is_widget]

    def widget_slots(self) -> list[tuple[str | None, Any]]:
        """Layout of ``widgets_values``: (input name, None) for a widget's own value, (None, filler) for the
        extra entries (control_after_generate, combo filter, upload button) that are not API inputs."""
        slots: list[tuple[str | None, Any]] = []
        for inp in self.widgets:
            slots.append((inp.name, None))
            slots += [(None, v) for v in inp.extra_values]
        if self.upload_widget:
            slots.append((None, UPLOAD_WIDGET_VALUE))
        return slots

    def input(self, name: str) -> InputDef | None:
        return next((i for i in self.inputs if i.name == name), None)


def _input_def(name: str, spec: Sequence[Any], optional: bool) -> InputDef:
    raw_type = spec[0] if spec else "*"
    options: Mapping[str, Any] = spec[1] if len(spec) > 1 and isinstance(spec[1], Mapping) else {}
    combo_values: tuple[Any, ...] = ()
    if isinstance(raw_type, list):  # legacy combo: the options are the type
        type_name, combo_values = "COMBO", tuple(raw_type)
    else:
        type_name = str(raw_type)
        if type_name == "COMBO":
            combo_values = tuple(options.get("options") or ())
    widget_type = str(options.get("widgetType") or type_name)
    is_widget = widget_type in WIDGET_TYPES and not options.get("forceInput")
    extra: tuple[Any, ...] = ()
    if is_widget and widget_type == "INT":
        # An explicit option wins; without one the legacy seed names still get the control (useIntWidget.ts).
        control = options.get("control_after_generate")
        if control is None:
            control = name in LEGACY_SEED_NAMES
        if control:
            extra = (CONTROL_MODE,)
    elif is_widget and widget_type == "COMBO" and options.get("control_after_generate"):
        extra = (CONTROL_MODE, "")  # combos also get a filter-list text widget (addValueControlWidgets)
    return InputDef(name, type_name, options, optional, is_widget, extra, combo_values)


def node_def(class_type: str, object_info: Mapping[str, Any]) -> NodeDef:
    """The frontend's view of a node class, built from its /object_info entry."""
    info = object_info.get(class_type)
    if not isinstance(info, Mapping):
        raise KeyError(f"node class {class_type!r} is not in object_info (is its node pack loaded?)")
    sections: Mapping[str, Mapping[str, Any]] = info.get("input") or {}
    order: Mapping[str, Sequence[str]] = info.get("input_order") or {}
    inputs: list[InputDef] = []
    upload = False
    for section in ("required", "optional"):  # hidden inputs have neither sockets nor widgets
        specs = sections.get(section) or {}
        names = list(order.get(section) or specs)
        names += [n for n in specs if n not in names]  # the frontend appends inputs missing from input_order
        for name in names:
            if name not in specs:
                continue
            inp = _input_def(name, specs[name], optional=section == "optional")
            inputs.append(inp)
            # uploadImage.ts adds an upload button for the first required media combo.
            if section == "required" and inp.type == "COMBO" and any(inp.options.get(f) for f in UPLOAD_FLAGS):
                upload = True
    out_types = list(info.get("output") or [])
    out_names = list(info.get("output_name") or out_types)
    outputs = tuple(
        (str(out_names[i]) if i < len(out_names) else _type_name(t), _type_name(t)) for i, t in enumerate(out_types)
    )
    return NodeDef(
        class_type=class_type,
        display_name=str(info.get("display_name") or class_type),
        inputs=tuple(inputs),
        outputs=outputs,
        output_node=bool(info.get("output_node")),
        upload_widget=upload,
    )


def _type_name(t: Any) -> str:
    return "COMBO" if isinstance(t, list) else str(t)


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def _node_id(api_id: str) -> int:
    # UI node ids are integers; a non-canonical id like "01" or "5:3" would not survive the round trip.
    if not (isinstance(api_id, str) and api_id.isdigit() and str(int(api_id)) == api_id):
        raise ValueError(f"node id {api_id!r}: UI workflows need plain integer node ids")
    return int(api_id)


@dataclass(frozen=True)
class Note:
    """A frontend-only note node to put into the UI workflow (not part of the API prompt)."""

    text: str
    title: str = "Note"
    type: str = "Note"  # or "MarkdownNote"
    pos: tuple[float, float] | None = None  # None: placed above the graph
    size: tuple[float, float] = NOTE_SIZE


@dataclass
class _Link:
    id: int
    src: int
    src_slot: int
    dst: int
    dst_slot: int
    type: str


@dataclass
class _Layout:
    pos: dict[int, tuple[float, float]] = field(default_factory=dict)
    size: dict[int, tuple[float, float]] = field(default_factory=dict)


def api_to_ui(
    prompt: Mapping[str, Any],
    object_info: Mapping[str, Any],
    *,
    notes: Sequence[Note] = (),
    node_properties: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A UI-format (version 0.4) workflow of ``prompt``, laid out left to right by graph depth.

    ``notes`` become ``Note`` nodes; ``node_properties`` (API node id -> dict) are merged into those nodes'
    ``properties``, e.g. ``{"models": [{"name", "url", "directory"}]}`` so the frontend offers missing downloads.
    Widget inputs that the prompt leaves out get the widget's default; inputs the class does not have are errors.
    """
    defs = _checked_node_defs(prompt, object_info)
    input_slots = {api_id: _input_slots(node, defs[api_id]) for api_id, node in prompt.items()}
    links = _links(prompt, defs, input_slots)
    layout = _layout(prompt, defs, input_slots, links, notes)
    order = _execution_order([_node_id(i) for i in prompt], links)
    props = node_properties or {}

    nodes = [_ui_node(api_id, prompt[api_id], defs[api_id], input_slots[api_id], links, layout, order,
                      props.get(api_id, {}))
             for api_id in sorted(prompt, key=_node_id)]
    next_id = max([_node_id(i) for i in prompt] or [0]) + 1
    nodes += [_note_node(next_id + k, note, layout, order.get(next_id + k, len(order) + k))
              for k, note in enumerate(notes)]

    return {
        "last_node_id": max([n["id"] for n in nodes] or [0]),
        "last_link_id": len(links),
        "nodes": nodes,
        "links": [[lk.id, lk.src, lk.src_slot, lk.dst, lk.dst_slot, lk.type] for lk in links],
        "groups": [],
        "config": {},
        "extra": {"ds": {"scale": 0.6, "offset": [40, 40]}},
        "version": 0.4,
    }


def _checked_node_defs(prompt: Mapping[str, Any], object_info: Mapping[str, Any]) -> dict[str, NodeDef]:
    """Every node's class definition; inputs the class lacks, and literals on socket-only inputs, are errors."""
    defs: dict[str, NodeDef] = {}
    for api_id, node in prompt.items():
        defs[api_id] = node_def(str(node["class_type"]), object_info)
        unknown = [k for k in node.get("inputs", {}) if defs[api_id].input(k) is None]
        if unknown:
            raise ValueError(f"node {api_id} ({node['class_type']}): unknown inputs {unknown}")
        # A socket-only input (no widget) can only take a link; a literal there would vanish from the UI form.
        literal_sockets = [
            i.name
            for i in defs[api_id].sockets
            if i.name in node.get("inputs", {}) and not _is_link(node["inputs"][i.name])
        ]
        if literal_sockets:
            raise ValueError(
                f"node {api_id} ({node['class_type']}): literal values for socket inputs {literal_sockets}"
            )
    return defs


def _input_slots(node: Mapping[str, Any], nd: NodeDef) -> list[InputDef]:
    """Visible input slots, in the order File -> Save writes them (legacy "compressed" form that every frontend
    version loads): all sockets, then the widget inputs that are driven by a link."""
    values = node.get("inputs", {})
    return nd.sockets + [w for w in nd.widgets if _is_link(values.get(w.name))]


def _links(prompt: Mapping[str, Any], defs: Mapping[str, NodeDef],
           input_slots: Mapping[str, list[InputDef]]) -> list[_Link]:
    """The prompt's links, numbered from 1 in node id order; a link to a missing node or output is an error."""
    links: list[_Link] = []
    for api_id in sorted(prompt, key=_node_id):
        values = prompt[api_id].get("inputs", {})
        for slot, inp in enumerate(input_slots[api_id]):
            value = values.get(inp.name)
            if not _is_link(value):
                continue
            src_id, src_slot = value
            if src_id not in prompt:
                raise ValueError(f"node {api_id} input {inp.name!r} links to missing node {src_id}")
            if not 0 <= src_slot < len(defs[src_id].outputs):
                raise ValueError(f"node {api_id} input {inp.name!r} links to missing output {src_id}:{src_slot}")
            # LiteGraph types a new link with the input's type (LGraphNode.connectSlots).
            links.append(_Link(len(links) + 1, _node_id(src_id), src_slot, _node_id(api_id), slot, inp.type))
    return links


def _ui_inputs(nid: int, slots: Sequence[InputDef], links: Sequence[_Link]) -> list[dict[str, Any]]:
    inputs: list[dict[str, Any]] = []
    for slot, inp in enumerate(slots):
        entry: dict[str, Any] = {"name": inp.name, "type": inp.type}
        if inp.optional:
            entry["shape"] = OPTIONAL_SHAPE
        if inp.is_widget:
            entry["widget"] = {"name": inp.name}
        entry["link"] = next((lk.id for lk in links if lk.dst == nid and lk.dst_slot == slot), None)
        inputs.append(entry)
    return inputs


def _ui_outputs(nid: int, nd: NodeDef, links: Sequence[_Link]) -> list[dict[str, Any]]:
    outputs = []
    for slot, (name, type_) in enumerate(nd.outputs):
        out_links = [lk.id for lk in links if lk.src == nid and lk.src_slot == slot]
        outputs.append({"name": name, "type": type_, "links": out_links or None, "slot_index": slot})
    return outputs


def _widgets_values(nd: NodeDef, values: Mapping[str, Any]) -> list[Any]:
    """``widgets_values`` in the frontend's order, with the extra entries it follows some widgets with."""
    widgets_values: list[Any] = []
    for name, filler in nd.widget_slots():
        if name is None:
            widgets_values.append(filler)
            continue
        value = values.get(name)
        inp = nd.input(name)
        assert inp is not None
        if name not in values or _is_link(value):
            value = inp.default()  # a linked widget keeps a value of its own, unused
        elif isinstance(value, Mapping) and "__value__" in value:
            value = value["__value__"]  # list-valued widgets are wrapped in API prompts (executionUtil.ts)
        widgets_values.append(copy.deepcopy(value))
    return widgets_values


def _ui_node(api_id: str, node: Mapping[str, Any], nd: NodeDef, slots: Sequence[InputDef], links: Sequence[_Link],
             layout: _Layout, order: Mapping[int, int], props: Mapping[str, Any]) -> dict[str, Any]:
    """One prompt node as a UI node."""
    nid = _node_id(api_id)
    ui_node: dict[str, Any] = {
        "id": nid,
        "type": nd.class_type,
        "pos": list(layout.pos[nid]),
        "size": list(layout.size[nid]),
        "flags": {},
        "order": order[nid],
        "mode": 0,
        "inputs": _ui_inputs(nid, slots, links),
        "outputs": _ui_outputs(nid, nd, links),
        "properties": {"Node name for S&R": nd.class_type, **copy.deepcopy(dict(props))},
        "widgets_values": _widgets_values(nd, node.get("inputs", {})),
    }
    title = (node.get("_meta") or {}).get("title")
    if title is not None:  # without one the frontend shows the display name, as ComfyUI's export would
        ui_node["title"] = title
    return ui_node


def _note_node(nid: int, note: Note, layout: _Layout, order: int) -> dict[str, Any]:
    """A frontend-only note as a UI node."""
    return {
        "id": nid,
        "type": note.type,
        "pos": list(layout.pos[nid]),
        "size": list(note.size),
        "flags": {},
        "order": order,
        "mode": 0,
        "inputs": [],
        "outputs": [],
        "properties": {"text": ""},
        "widgets_values": [note.text],
        "title": note.title,
        "color": NOTE_COLOR,
        "bgcolor": NOTE_BGCOLOR,
    }


def _node_size(nd: NodeDef, node: Mapping[str, Any], n_slots: int) -> tuple[float, float]:
    rows = max(n_slots, len(nd.outputs), 1)
    height = rows * SLOT_H + NODE_PAD_H
    width = float(MIN_W)
    for inp in nd.widgets:
        multiline = inp.type == "STRING" and bool(inp.options.get("multiline"))
        height += MULTILINE_H if multiline else WIDGET_H
        height += WIDGET_H * len(inp.extra_values)
        if multiline:
            width = max(width, TEXT_W)
    if nd.upload_widget:
        height += WIDGET_H + PREVIEW_H
    elif nd.output_node:
        height += PREVIEW_H
    title = str((node.get("_meta") or {}).get("title") or nd.display_name)
    width = min(max(width, 8.0 * len(title) + 60), MAX_W)  # room for the title at the default font
    return width, float(height)


def _layout(
    prompt: Mapping[str, Any],
    defs: Mapping[str, NodeDef],
    input_slots: Mapping[str, Sequence[InputDef]],
    links: Sequence[_Link],
    notes: Sequence[Note],
) -> _Layout:
    """Columns by depth (longest path from a source), pulled right next to their consumers when they have no
    inputs; rows ordered by the mean position of linked neighbours, so links mostly run straight."""
    ids = sorted(_node_id(i) for i in prompt)
    preds: dict[int, list[int]] = {i: [] for i in ids}
    succs: dict[int, list[int]] = {i: [] for i in ids}
    for lk in links:
        preds[lk.dst].append(lk.src)
        succs[lk.src].append(lk.dst)

    col: dict[int, int] = {}
    for nid in _topological(ids, preds):
        col[nid] = max((col[p] + 1 for p in preds[nid]), default=0)
    for nid in sorted(ids, key=lambda n: -col[n]):  # sources sit just left of their first consumer
        if not preds[nid] and succs[nid]:
            col[nid] = max(min(col[s] for s in succs[nid]) - 1, 0)

    layout = _Layout()
    for nid in ids:
        api_id = str(nid)
        layout.size[nid] = _node_size(defs[api_id], prompt[api_id], len(input_slots[api_id]))

    n_cols = max(col.values(), default=-1) + 1
    columns: list[list[int]] = [[n for n in ids if col[n] == c] for c in range(n_cols)]
    rank = {n: float(i) for column in columns for i, n in enumerate(column)}

    def sweep(cols: Iterable[list[int]], neighbours: Mapping[int, list[int]]) -> None:
        for column in cols:
            keyed = {n: sum(rank[m] for m in neighbours[n]) / len(neighbours[n]) for n in column if neighbours[n]}
            column.sort(key=lambda n: (keyed.get(n, rank[n]), n))
            for i, n in enumerate(column):
                rank[n] = float(i)

    for _ in range(2):  # a couple of barycenter sweeps each way is plenty for graphs of this size
        sweep(columns[1:], preds)
        sweep(reversed(columns[:-1]), succs)

    # Vertical placement: every link pulls its two ends level (output slot beside input slot); each column keeps
    # its order and spacing. Alternate sweeps settle in a few rounds.
    def slot_y(slot: int) -> float:
        return SLOT_H * slot + SLOT_H / 2

    # node -> (neighbour, wanted top offset, weight); long links pull less, so a chain of neighbours stays level.
    pull: dict[int, list[tuple[int, float, float]]] = {n: [] for n in ids}
    for lk in links:
        weight = 1.0 / max(abs(col[lk.dst] - col[lk.src]), 1) ** 2
        pull[lk.dst].append((lk.src, slot_y(lk.src_slot) - slot_y(lk.dst_slot), weight))
        pull[lk.src].append((lk.dst, slot_y(lk.dst_slot) - slot_y(lk.src_slot), weight))
    top: dict[int, float] = {}
    for column in columns:
        y = 0.0
        for n in column:
            top[n] = y
            y += layout.size[n][1] + TITLE_H + ROW_GAP
    for _ in range(12):
        for column in [*columns, *reversed(columns)]:
            wanted = [
                sum((top[m] + off) * w for m, off, w in pull[n]) / sum(w for _, _, w in pull[n]) if pull[n] else top[n]
                for n in column
            ]
            heights = [layout.size[n][1] + TITLE_H + ROW_GAP for n in column]
            for n, y in zip(column, _pack(wanted, heights), strict=True):
                top[n] = y

    auto_notes = [n for n in notes if n.pos is None]
    y0 = max(n.size[1] for n in auto_notes) + TITLE_H + ROW_GAP if auto_notes else 0.0
    shift = y0 - min(top.values(), default=0.0)
    x = 0.0
    for column in columns:
        for n in column:
            layout.pos[n] = (x, float(round(top[n] + shift)))
        x += max((layout.size[n][0] for n in column), default=0.0) + COL_GAP

    next_id = (ids[-1] if ids else 0) + 1
    note_x = 0.0
    for k, note in enumerate(notes):
        if note.pos is not None:
            layout.pos[next_id + k] = note.pos
        else:
            layout.pos[next_id + k] = (note_x, 0.0)
            note_x += note.size[0] + COL_GAP
    return layout


def _pack(wanted: Sequence[float], heights: Sequence[float]) -> list[float]:
    """Tops as close as possible (least squares) to ``wanted`` while each node stays below the previous one
    plus its height: isotonic regression (pool adjacent violators) on the tops minus the stacked heights."""
    offsets = [sum(heights[:i]) for i in range(len(heights))]
    blocks: list[tuple[float, int]] = []  # (mean, count) of pooled runs
    for w, off in zip(wanted, offsets, strict=True):
        mean, count = w - off, 1
        while blocks and blocks[-1][0] > mean:
            prev_mean, prev_count = blocks.pop()
            mean = (prev_mean * prev_count + mean * count) / (prev_count + count)
            count += prev_count
        blocks.append((mean, count))
    flat = [mean for mean, count in blocks for _ in range(count)]
    return [z + off for z, off in zip(flat, offsets, strict=True)]


def _topological(ids: Sequence[int], preds: Mapping[int, list[int]]) -> list[int]:
    """Kahn's order, smallest id first among ready nodes, so the result is deterministic."""
    remaining = {n: len(set(preds[n])) for n in ids}
    done: list[int] = []
    ready = sorted(n for n in ids if remaining[n] == 0)
    succs: dict[int, set[int]] = {n: set() for n in ids}
    for n in ids:
        for p in preds[n]:
            succs[p].add(n)
    while ready:
        n = ready.pop(0)
        done.append(n)
        for s in sorted(succs[n]):
            remaining[s] -= 1
            if remaining[s] == 0:
                ready.append(s)
        ready.sort()
    if len(done) != len(ids):
        raise ValueError("the prompt has a cycle")
    return done


def _execution_order(ids: Sequence[int], links: Sequence[_Link]) -> dict[int, int]:
    preds: dict[int, list[int]] = {i: [] for i in ids}
    for lk in links:
        preds[lk.dst].append(lk.src)
    return {n: i for i, n in enumerate(_topological(sorted(ids), preds))}


def ui_to_api(workflow: Mapping[str, Any], object_info: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The API prompt that ComfyUI's frontend would queue for ``workflow`` (a version 0.4 UI workflow).

    Frontend-only nodes (notes, reroutes, primitives) and muted nodes are left out, links through reroutes
    and bypassed nodes are followed to the real source, and ``widgets_values`` are mapped back to input names
    (skipping control_after_generate / filter / upload entries). Inputs are listed in the class's input order.
    """
    nodes: dict[int, Mapping[str, Any]] = {int(n["id"]): n for n in workflow.get("nodes", [])}
    links: dict[int, tuple[int, int, int, int, Any]] = {}
    for lk in workflow.get("links", []):
        links[int(lk[0])] = (int(lk[1]), int(lk[2]), int(lk[3]), int(lk[4]), lk[5])

    def resolve(link_id: int, seen: frozenset[int] = frozenset()) -> tuple[int, int] | None:
        """(source node, output slot) that really feeds a link, or None if it ends in a primitive/dead end."""
        if link_id in seen or link_id not in links:
            return None
        src, slot, _, _, ltype = links[link_id]
        node = nodes.get(src)
        if node is None:
            return None
        seen = seen | {link_id}
        if node["type"] == "Reroute":
            upstream = (node.get("inputs") or [{}])[0].get("link")
            return resolve(int(upstream), seen) if upstream is not None else None
        if node["type"] in FRONTEND_ONLY_TYPES or node.get("mode") == MODE_NEVER:
            return None  # a PrimitiveNode already wrote its value into the target widget
        if node.get("mode") == MODE_BYPASS:
            # Like ExecutableNodeDTO: the input in the same slot if its type fits, else the first of this type.
            ins = node.get("inputs") or []
            out_type = (node.get("outputs") or [])[slot]["type"] if slot < len(node.get("outputs") or []) else ltype
            idx = slot if slot < len(ins) and ins[slot]["type"] in (out_type, ltype) else -1
            if idx < 0:
                idx = next((i for i, inp in enumerate(ins) if inp["type"] == ltype), -1)
            upstream = ins[idx].get("link") if idx >= 0 else None
            return resolve(int(upstream), seen) if upstream is not None else None
        return src, slot

    prompt: dict[str, dict[str, Any]] = {}
    for nid in sorted(nodes):
        node = nodes[nid]
        if node["type"] in FRONTEND_ONLY_TYPES or node.get("mode") in (MODE_NEVER, MODE_BYPASS):
            continue
        nd = node_def(str(node["type"]), object_info)
        slots = nd.widget_slots()
        values = list(node.get("widgets_values") or [])
        if len(values) != len(slots):
            raise ValueError(
                f"node {nid} ({nd.class_type}): {len(values)} widgets_values, but the class has {len(slots)} "
                f"widget slots {[name or '<extra>' for name, _ in slots]}"
            )
        widget_values = {name: v for (name, _), v in zip(slots, values, strict=True) if name is not None}
        linked: dict[str, tuple[int, int]] = {}
        for inp in node.get("inputs") or []:
            if inp.get("link") is None:
                continue
            source = resolve(int(inp["link"]))
            if source is not None:
                linked[str(inp["name"])] = source
        inputs: dict[str, Any] = {}
        for inp_def in nd.inputs:
            if inp_def.name in linked:
                src, slot = linked[inp_def.name]
                inputs[inp_def.name] = [str(src), slot]
            elif inp_def.name in widget_values:
                value = copy.deepcopy(widget_values[inp_def.name])
                inputs[inp_def.name] = {"__value__": value} if isinstance(value, list) else value
        prompt[str(nid)] = {
            "class_type": nd.class_type,
            "inputs": inputs,
            "_meta": {"title": str(node.get("title") or nd.display_name)},
        }

    # As the frontend does: drop links to nodes that were left out (muted ones).
    for entry in prompt.values():
        for name, value in list(entry["inputs"].items()):
            if _is_link(value) and value[0] not in prompt:
                del entry["inputs"][name]
    return prompt


def round_trip_problems(prompt: Mapping[str, Any], back: Mapping[str, Any]) -> list[str]:
    """How ``back`` (from :func:`ui_to_api`) differs from ``prompt`` in meaning. Two differences are benign and
    not reported: widget inputs the prompt left out come back with their defaults, and a missing ``_meta``
    comes back as the display name."""
    problems = [f"node {k}: missing after the round trip" for k in prompt if k not in back]
    problems += [f"node {k}: not in the prompt" for k in back if k not in prompt]
    for k in sorted(set(prompt) & set(back), key=lambda i: (len(i), i)):
        want, got = prompt[k], back[k]
        if want["class_type"] != got["class_type"]:
            problems.append(f"node {k}: class {got['class_type']!r} instead of {want['class_type']!r}")
        if "_meta" in want and want["_meta"] != got.get("_meta"):
            problems.append(f"node {k}: _meta {got.get('_meta')!r} instead of {want['_meta']!r}")
        for name in sorted(set(want.get("inputs", {})) | set(got.get("inputs", {}))):
            if name not in want["inputs"] and not _is_link(got["inputs"][name]):
                continue
            if want["inputs"].get(name, "<absent>") != got["inputs"].get(name, "<absent>"):
                problems.append(
                    f"node {k} input {name!r}: {got['inputs'].get(name, '<absent>')!r} "
                    f"instead of {want['inputs'].get(name, '<absent>')!r}"
                )
    return problems


def extras_from(workflow: Mapping[str, Any]) -> tuple[list[Note], dict[str, dict[str, Any]]]:
    """Hand-made additions in an existing UI workflow, to carry over on regeneration: its note nodes and the
    properties of the other nodes beyond "Node name for S&R" (e.g. ``models`` download links)."""
    notes: list[Note] = []
    props: dict[str, dict[str, Any]] = {}
    for node in sorted(workflow.get("nodes", []), key=lambda n: int(n["id"])):
        if node["type"] in NOTE_TYPES:
            values = node.get("widgets_values") or [""]
            size = node.get("size") or NOTE_SIZE
            notes.append(
                Note(
                    text=str(values[0]),
                    title=str(node.get("title") or node["type"]),
                    type=str(node["type"]),
                    size=(float(size[0]), float(size[1])),  # not pos: notes go back above the new layout
                )
            )
            continue
        extra = {k: v for k, v in (node.get("properties") or {}).items() if k != "Node name for S&R"}
        if extra:
            props[str(node["id"])] = extra
    return notes, props


def fetch_object_info(comfyui_path: str | Path | None = None) -> dict[str, Any]:
    """/object_info of a throwaway ComfyUI server with this pack and the test stand-in nodes loaded (the same
    custom_nodes links as tests/integration/conftest.py)."""
    from devtools.comfy_server import ComfyServer, prepare_base_dir

    with tempfile.TemporaryDirectory(prefix="posegen_object_info_") as tmp:
        base = prepare_base_dir(
            Path(tmp) / "comfy",
            {"posegen_comfyui": REPO_ROOT, "posegen_stand_ins": REPO_ROOT / "devtools" / "comfy_stand_ins"},
        )
        with ComfyServer(base, comfyui_path=comfyui_path) as server:
            return server.object_info()


def dump_json(data: Any) -> str:
    """The JSON text we ship: two-space indent, UTF-8 kept readable (the negative prompt is Chinese)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.workflow_ui", description=__doc__.split("\n\n")[0])
    parser.add_argument("api_json", type=Path, help="API-format prompt (what POST /prompt takes)")
    parser.add_argument("out_json", type=Path, help="where to write the UI-format workflow")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--object-info", type=Path, help="a saved GET /object_info answer")
    source.add_argument("--from-server", action="store_true", help="start a ComfyUI server to ask it")
    parser.add_argument("--comfyui-path", type=Path, help="ComfyUI for --from-server (default: $COMFYUI_PATH)")
    parser.add_argument("--note", help="text of a Note node placed above the graph")
    parser.add_argument("--note-title", default="Read me")
    parser.add_argument(
        "--keep-extras-from",
        type=Path,
        help="an existing UI workflow whose note nodes and extra node properties (e.g. models) are carried over",
    )
    args = parser.parse_args(argv)

    prompt = json.loads(args.api_json.read_text(encoding="utf-8"))
    notes: list[Note] = []
    props: dict[str, dict[str, Any]] = {}
    if args.keep_extras_from is not None:
        notes, props = extras_from(json.loads(args.keep_extras_from.read_text(encoding="utf-8")))
    if args.note:
        notes.append(Note(text=args.note, title=args.note_title))
    if args.from_server:
        object_info = fetch_object_info(args.comfyui_path)
    else:
        object_info = json.loads(args.object_info.read_text(encoding="utf-8"))

    workflow = api_to_ui(prompt, object_info, notes=notes, node_properties=props)
    problems = round_trip_problems(prompt, ui_to_api(workflow, object_info))
    if problems:  # never write a UI workflow that does not mean the same as its API form
        print("error: the UI workflow does not convert back to the prompt:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    args.out_json.parent.mkdir(parents=True, exist_ok=True)
    args.out_json.write_text(dump_json(workflow), encoding="utf-8")
    print(f"wrote {args.out_json} ({len(workflow['nodes'])} nodes, {len(workflow['links'])} links)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
