"""Start a real ComfyUI server in a subprocess and drive it over HTTP and its websocket, as users' clients do.

Typical use::

    base = prepare_base_dir(tmp / "comfy", {"posegen_comfyui": repo_root})
    with ComfyServer(base) as server:
        result = server.run(prompt, timeout=120)
        assert result.ok, result.describe()
        pngs = result.output_files("images")

Only the standard library, ``requests`` and ``websocket-client`` are used, so this module can run in any
environment that can reach the server; it never imports ComfyUI itself.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import requests
import websocket

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COMFYUI_PATH = REPO_ROOT / ".comfyui"
MODEL_SUBDIRS = ("diffusion_models", "vae", "clip_vision", "text_encoders", "posegen")

Status = Literal["success", "error", "interrupted"]
# The websocket events that end a prompt's execution, and the status each one means.
TERMINAL_EVENTS: dict[str, Status] = {
    "execution_success": "success",
    "execution_error": "error",
    "execution_interrupted": "interrupted",
}

# Binary websocket frames start with a big-endian uint32 event type (see ComfyUI's protocol.py).
_BIN_PREVIEW_IMAGE = 1
_BIN_TEXT = 3
_BIN_PREVIEW_WITH_METADATA = 4
_PREVIEW_MIME = {1: "image/jpeg", 2: "image/png"}

# After a terminal event ComfyUI still has to write the history entry; it then sends
# `executing` with node=None. Wait this long for that before falling back to polling.
_FINISH_GRACE_S = 10.0


class ComfyServerError(RuntimeError):
    """The server could not start, died, or answered in a way the harness did not expect."""


class PromptTimeout(ComfyServerError, TimeoutError):
    """A prompt did not finish within the time the caller allowed."""


class PromptRejected(ComfyServerError):
    """POST /prompt was refused (HTTP 400): the prompt failed validation before anything ran.

    ``body`` is the server's JSON answer: ``{"error": {type, message, details, extra_info},
    "node_errors": {node_id: {"errors": [...], "dependent_outputs": [...], "class_type": ...}}}``.
    """

    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code = status_code
        self.body: dict[str, Any] = body if isinstance(body, dict) else {"error": {"message": str(body)}}
        super().__init__(self._summary())

    @property
    def error(self) -> dict[str, Any]:
        err = self.body.get("error")
        return err if isinstance(err, dict) else {"message": str(err)}

    @property
    def node_errors(self) -> dict[str, dict[str, Any]]:
        return self.body.get("node_errors") or {}

    def error_types(self) -> list[str]:
        """The prompt-level error type followed by every per-node error type, e.g. ``value_smaller_than_min``."""
        types = [str(self.error.get("type", ""))]
        for node in self.node_errors.values():
            types += [str(e.get("type", "")) for e in node.get("errors", [])]
        return types

    def _summary(self) -> str:
        parts = [f"HTTP {self.status_code}: {self.error.get('message', '')} {self.error.get('details', '')}".strip()]
        for node_id, node in self.node_errors.items():
            for e in node.get("errors", []):
                parts.append(f"node {node_id} ({node.get('class_type')}): {e.get('message')} - {e.get('details')}")
        return "; ".join(parts)


@dataclass(frozen=True)
class WsMessage:
    """One websocket message. JSON messages keep ComfyUI's ``type``/``data``; binary frames are decoded
    into ``preview_image`` (``payload`` holds the encoded image) or ``progress_text``."""

    type: str
    data: dict[str, Any]
    received: float  # time.monotonic() when this client got it
    payload: bytes | None = None

    @property
    def prompt_id(self) -> str | None:
        return self.data.get("prompt_id")


@dataclass
class PromptResult:
    """Everything one prompt produced, as seen by a websocket client plus its /history entry."""

    prompt_id: str
    status: Status
    messages: list[WsMessage]
    progress: dict[str, list[tuple[float, float]]]  # node id -> [(value, max), ...] in arrival order
    previews: dict[str, int]  # node id -> number of preview images received
    error: dict[str, Any] | None  # data of execution_error / execution_interrupted; None on success
    outputs: dict[str, dict[str, Any]]  # history "outputs": node id -> UI output dict
    history: dict[str, Any]  # the whole /history/<id> entry (prompt, outputs, status, meta)
    base_dir: Path
    elapsed: float = 0.0  # seconds from wait_for() start to the end of execution
    output_dir: Path | None = None  # where "output" files go when not base_dir/output (--output-directory)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def message_types(self) -> list[str]:
        return [m.type for m in self.messages]

    def messages_of(self, *types: str) -> list[WsMessage]:
        return [m for m in self.messages if m.type in types]

    @property
    def executed_nodes(self) -> list[str]:
        """Nodes that actually ran (got an ``executing`` message), in execution order."""
        return [str(m.data["node"]) for m in self.messages if m.type == "executing" and m.data.get("node") is not None]

    @property
    def cached_nodes(self) -> list[str]:
        """Nodes whose outputs ComfyUI took from its cache instead of running them."""
        return [str(n) for m in self.messages_of("execution_cached") for n in m.data.get("nodes", [])]

    def node_output(self, node_id: str) -> dict[str, Any]:
        return self.outputs.get(str(node_id), {})

    def output_files(self, kind: str = "images", node_id: str | None = None) -> list[Path]:
        """Files listed under ``kind`` ("images", "gifs", "videos", "audio", ...) in the history outputs,
        resolved against the server's output/temp/input folders."""
        folders = {"output": self.output_dir or self.base_dir / "output", "temp": self.base_dir / "temp",
                   "input": self.base_dir / "input"}
        node_ids = [str(node_id)] if node_id is not None else list(self.outputs)
        files: list[Path] = []
        for nid in node_ids:
            for item in self.outputs.get(nid, {}).get(kind, []) or []:
                if not isinstance(item, dict) or "filename" not in item:
                    continue  # e.g. the "animated" flags or text entries
                folder = folders.get(str(item.get("type", "output")), folders["output"])
                files.append(folder / str(item.get("subfolder", "")) / str(item["filename"]))
        return files

    def describe(self) -> str:
        """A short human summary, meant for assertion messages."""
        text = f"prompt {self.prompt_id}: {self.status}; messages: {', '.join(self.message_types)}"
        if self.error and self.status == "interrupted":
            text += f"\ninterrupted in node {self.error.get('node_id')} ({self.error.get('node_type')})"
        elif self.error:
            text += (
                f"\nerror in node {self.error.get('node_id')} ({self.error.get('node_type')}): "
                f"{self.error.get('exception_type', '')}: {self.error.get('exception_message', '')}"
            )
        return text

    def raise_for_status(self) -> PromptResult:
        """This result if the prompt succeeded, else ComfyServerError with the server's account of it."""
        if not self.ok:
            raise ComfyServerError(self.describe())
        return self


def comfyui_path_from_env() -> Path:
    """$COMFYUI_PATH, else the ComfyUI that scripts/bootstrap.sh unpacks into <repo>/.comfyui."""
    return Path(os.environ.get("COMFYUI_PATH") or DEFAULT_COMFYUI_PATH).resolve()


def prepare_base_dir(base_dir: str | Path, custom_node_links: Mapping[str, str | Path] | None = None) -> Path:
    """Create a ComfyUI base directory (for ``--base-directory``) and link custom-node packages into it.

    Creates models/{diffusion_models,vae,clip_vision,text_encoders,posegen}, input/, output/, user/ and
    custom_nodes/, then symlinks each ``{name: package_dir}`` to custom_nodes/<name>. Safe to call again.
    """
    base = Path(base_dir).resolve()
    subdirs = [f"models/{m}" for m in MODEL_SUBDIRS] + ["input", "output", "user", "custom_nodes"]
    for sub in subdirs:
        (base / sub).mkdir(parents=True, exist_ok=True)
    for name, target in (custom_node_links or {}).items():
        if not name or "/" in name or name.startswith(".") or name.endswith(".disabled"):
            # ComfyUI skips hidden-looking and *.disabled entries, so such a link would silently not load.
            raise ValueError(f"custom_node_links: {name!r} is not a usable custom-node folder name")
        target_path = Path(target).resolve()
        if not target_path.is_dir():
            raise FileNotFoundError(f"custom_node_links[{name!r}]: {target_path} is not a directory")
        link = base / "custom_nodes" / name
        if link.is_symlink():
            if link.resolve() == target_path:
                continue
            link.unlink()
        elif link.exists():
            raise FileExistsError(f"{link} exists and is not a symlink; refusing to replace it")
        link.symlink_to(target_path, target_is_directory=True)
    return base


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (the OS picks it; a race with other processes is possible)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _tail_lines(path: Path, n: int) -> str:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            return "".join(deque(fh, maxlen=n))
    except FileNotFoundError:
        return "(no log file)"


class _WsListener:
    """One websocket connection for one client id. A background thread buffers every message, keyed by
    prompt id, so nothing is lost between POST /prompt and the caller starting to wait."""

    def __init__(self, host: str, port: int, client_id: str, *, preview_metadata: bool, connect_timeout: float) -> None:
        self.client_id = client_id
        self._cond = threading.Condition()
        self._by_prompt: dict[str, list[WsMessage]] = {}
        self.other: deque[WsMessage] = deque(maxlen=1000)  # messages without a prompt id (status, ...)
        self._current_prompt: str | None = None
        self._current_node: str | None = None
        self.closed = False
        self.close_reason = ""
        # Connect the TCP socket ourselves: websocket-client would otherwise honour $http_proxy for 127.0.0.1.
        sock = socket.create_connection((host, port), timeout=connect_timeout)
        url = f"ws://{host}:{port}/ws?clientId={client_id}"
        self._ws = websocket.create_connection(url, timeout=connect_timeout, socket=sock)
        try:
            self._handshake(preview_metadata, connect_timeout)
        except Exception:
            self._ws.shutdown()
            raise
        self._ws.settimeout(None)
        self._thread = threading.Thread(target=self._run, name=f"comfy-ws-{client_id[:8]}", daemon=True)
        self._thread.start()

    def _handshake(self, preview_metadata: bool, timeout: float) -> None:
        if preview_metadata:
            # What the current frontend sends: previews then arrive with a JSON header naming their node.
            flags = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}
            self._ws.send(json.dumps(flags))
        # "status" proves the server registered this socket under our client id; the "feature_flags" reply
        # proves our flags are stored. Only then may a prompt be queued without losing its first messages.
        needed = {"status", "feature_flags"} if preview_metadata else {"status"}
        deadline = time.monotonic() + timeout
        while needed:
            if time.monotonic() > deadline:
                raise ComfyServerError(f"websocket handshake: no {sorted(needed)} message within {timeout}s")
            opcode, data = self._ws.recv_data()
            msg = self._decode(opcode, data)
            if msg is not None:
                self._store(msg)
                needed.discard(msg.type)

    def _run(self) -> None:
        reason = "closed by client"
        try:
            while True:
                opcode, data = self._ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    reason = "server closed the websocket"
                    break
                try:
                    msg = self._decode(opcode, data)
                except (ValueError, struct.error) as exc:  # one bad frame must not end the listener
                    msg = WsMessage("undecodable", {"error": repr(exc)}, time.monotonic(), bytes(data))
                if msg is not None:
                    self._store(msg)
        except Exception as exc:  # any socket failure ends the connection; waiters see close_reason
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            with self._cond:
                if not self.closed:
                    self.closed = True
                    self.close_reason = reason
                self._cond.notify_all()

    def _decode(self, opcode: int, data: bytes | str) -> WsMessage | None:
        now = time.monotonic()
        if opcode == websocket.ABNF.OPCODE_TEXT:
            obj = json.loads(data if isinstance(data, str) else data.decode("utf-8"))
            return WsMessage(str(obj.get("type")), obj.get("data") or {}, now)
        if opcode != websocket.ABNF.OPCODE_BINARY or isinstance(data, str):
            return None
        (event,) = struct.unpack(">I", data[:4])
        body = data[4:]
        if event == _BIN_PREVIEW_WITH_METADATA:
            (meta_len,) = struct.unpack(">I", body[:4])
            meta = json.loads(body[4 : 4 + meta_len].decode("utf-8"))
            image = body[4 + meta_len :]
            info = {**meta, "node": meta.get("node_id"), "size": len(image)}
            return WsMessage("preview_image", info, now, bytes(image))
        if event == _BIN_PREVIEW_IMAGE:
            # The old format names no node or prompt: it belongs to whatever is executing right now.
            (fmt,) = struct.unpack(">I", body[:4])
            image = body[4:]
            info = {
                "node": self._current_node,
                "prompt_id": self._current_prompt,
                "image_type": _PREVIEW_MIME.get(fmt, f"unknown/{fmt}"),
                "size": len(image),
            }
            return WsMessage("preview_image", info, now, bytes(image))
        if event == _BIN_TEXT:
            (id_len,) = struct.unpack(">I", body[:4])
            node = body[4 : 4 + id_len].decode("utf-8")
            text = body[4 + id_len :].decode("utf-8", errors="replace")
            return WsMessage("progress_text", {"node": node, "prompt_id": self._current_prompt, "text": text}, now)
        return WsMessage(f"binary_{event}", {"prompt_id": self._current_prompt, "size": len(body)}, now, bytes(body))

    def _store(self, msg: WsMessage) -> None:
        with self._cond:
            prompt_id = msg.prompt_id
            if msg.type == "execution_start":
                self._current_prompt, self._current_node = prompt_id, None
            elif msg.type == "executing" and prompt_id is not None:
                node = msg.data.get("node")
                if node is None:
                    self._current_prompt, self._current_node = None, None
                else:
                    self._current_prompt, self._current_node = prompt_id, str(node)
            if prompt_id is None:
                self.other.append(msg)
            else:
                self._by_prompt.setdefault(str(prompt_id), []).append(msg)
            self._cond.notify_all()

    def messages_since(self, prompt_id: str, index: int, deadline: float) -> list[WsMessage]:
        """Messages for ``prompt_id`` from ``index`` on; blocks until there is one, the deadline, or close."""
        with self._cond:
            while True:
                msgs = self._by_prompt.get(prompt_id, [])
                if len(msgs) > index:
                    return list(msgs[index:])
                remaining = deadline - time.monotonic()
                if self.closed or remaining <= 0:
                    return []
                self._cond.wait(remaining)

    def forget(self, prompt_id: str) -> None:
        with self._cond:
            self._by_prompt.pop(prompt_id, None)

    def close(self) -> None:
        with self._cond:
            if not self.closed:
                self.closed = True
                self.close_reason = "closed by client"
        self._ws.abort()  # wakes the reader thread blocked in recv
        self._thread.join(timeout=5)
        self._ws.shutdown()


_PR_SET_PDEATHSIG = 1


def _death_signal_setter() -> Callable[[], None]:
    """A preexec_fn that makes the child get SIGTERM when this process dies: a SIGKILLed test run must not
    leave a server holding RAM and a port. prctl is looked up before fork; the child only calls it."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def setter() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))

    return setter


# ComfyUI's CPU default is sub-quadratic attention; PyTorch's SDPA measured faster for PoseGen's shapes
# (bench.forward_speed, docs/benchmarks.md), so the demo and the benchmarks start their servers with it.
FAST_CPU_ATTENTION = ("--use-pytorch-cross-attention",)


class ComfyServer:
    """A ComfyUI server process (``main.py``) with its own base directory, driven over HTTP and websocket.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. Prompts are queued with one websocket
    client id per :class:`ComfyServer` (``client_id``); messages for other ids are collected once a prompt
    is queued with them.
    """

    def __init__(
        self,
        base_dir: str | Path,
        *,
        comfyui_path: str | Path | None = None,
        python: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 180.0,
        request_timeout: float = 60.0,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        log_name: str = "comfyui.log",
        preview_metadata: bool = True,
        die_with_parent: bool = True,
        output_directory: str | Path | None = None,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self._output_directory = Path(output_directory).resolve() if output_directory else None
        self.comfyui_path = Path(comfyui_path).resolve() if comfyui_path else comfyui_path_from_env()
        self.python = str(python or sys.executable)
        self.host = host
        self._requested_port = port
        self.port: int | None = port
        self.startup_timeout = startup_timeout
        self.request_timeout = request_timeout
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.log_path = self.base_dir / log_name
        self.preview_metadata = preview_metadata
        # Linux only. The death signal fires when the *thread* that started the server exits, so start it
        # from a long-lived thread (pytest fixtures run in the main thread) or pass die_with_parent=False.
        self.die_with_parent = die_with_parent and sys.platform.startswith("linux")
        self.client_id = uuid.uuid4().hex
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._http = requests.Session()
        self._http.trust_env = False  # never route 127.0.0.1 through a proxy from the environment
        self._listeners: dict[str, _WsListener] = {}
        self._prompt_listeners: dict[str, _WsListener] = {}
        self._results: dict[str, PromptResult] = {}

    # --- paths --------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self.port is None:
            raise ComfyServerError("server not started")
        return f"http://{self.host}:{self.port}"

    @property
    def output_dir(self) -> Path:
        return self._output_directory or self.base_dir / "output"

    @property
    def input_dir(self) -> Path:
        return self.base_dir / "input"

    @property
    def temp_dir(self) -> Path:
        return self.base_dir / "temp"

    @property
    def models_dir(self) -> Path:
        return self.base_dir / "models"

    @property
    def custom_nodes_dir(self) -> Path:
        return self.base_dir / "custom_nodes"

    @staticmethod
    def prepare_base_dir(base_dir: str | Path, custom_node_links: Mapping[str, str | Path] | None = None) -> Path:
        return prepare_base_dir(base_dir, custom_node_links)

    # --- lifecycle ----------------------------------------------------------------------------------------
    def command(self, port: int) -> list[str]:
        """The command line that starts the server (run with cwd = the ComfyUI folder)."""
        # Keep ComfyUI's sqlite database inside the base dir instead of <ComfyUI>/user/comfyui.db, so
        # parallel servers and test runs never share or dirty it.
        db_url = f"sqlite:///{self.base_dir / 'user' / 'comfyui.db'}"
        return [
            self.python, "main.py",
            "--cpu",
            "--listen", self.host,
            "--port", str(port),
            "--base-directory", str(self.base_dir),
            "--disable-auto-launch",
            "--preview-method", "auto",
            "--database-url", db_url,
            *(["--output-directory", str(self._output_directory)] if self._output_directory else []),
            *self.extra_args,
        ]  # fmt: skip

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> ComfyServer:
        """Start the server and return once GET /object_info answers and the websocket client is connected."""
        if self.is_running:
            return self
        if not (self.comfyui_path / "main.py").is_file():
            raise ComfyServerError(f"no ComfyUI at {self.comfyui_path} (main.py missing); set COMFYUI_PATH")
        prepare_base_dir(self.base_dir)
        attempts = 1 if self._requested_port else 3  # a port picked by free_port() can be taken meanwhile
        for attempt in range(attempts):
            self.port = self._requested_port or free_port(self.host)
            self._spawn(self.port)
            try:
                self._wait_ready()
                self._listener(self.client_id)
                return self
            except ComfyServerError:
                port_taken = "address already in use" in self.log_tail(40).lower()
                self.stop()
                if not (port_taken and attempt + 1 < attempts):
                    raise
            except BaseException:  # websocket failure, Ctrl-C, ...: never leave the process behind
                self.stop()
                raise
        raise AssertionError("unreachable")

    def _spawn(self, port: int) -> None:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self._log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command(port),
            cwd=self.comfyui_path,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_death_signal_setter() if self.die_with_parent else None,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            assert self.process is not None
            rc = self.process.poll()
            if rc is not None:
                raise ComfyServerError(
                    f"ComfyUI exited with code {rc} during startup. Log tail ({self.log_path}):\n{self.log_tail()}"
                )
            try:
                resp = self._http.get(f"{self.url}/object_info", timeout=10)
                if resp.status_code == 200 and isinstance(resp.json(), dict):
                    return
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
            if time.monotonic() > deadline:
                raise ComfyServerError(
                    f"ComfyUI did not answer GET /object_info within {self.startup_timeout:.0f}s. "
                    f"Log tail ({self.log_path}):\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def stop(self, timeout: float = 15.0) -> None:
        """Close websocket clients, then SIGTERM the server and SIGKILL it if it is still alive after ``timeout``."""
        for listener in self._listeners.values():
            listener.close()
        self._listeners.clear()
        self._prompt_listeners.clear()
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> ComfyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, n: int = 80) -> str:
        """The last ``n`` lines of the server's combined stdout/stderr."""
        if self._log_file is not None:
            self._log_file.flush()
        return _tail_lines(self.log_path, n)

    # --- HTTP API -----------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.request_timeout)
        try:
            return self._http.request(method, f"{self.url}{path}", **kwargs)
        except requests.RequestException as exc:
            state = "running" if self.is_running else "not running"
            raise ComfyServerError(
                f"{method} {path} failed ({exc}); server {state}. Log tail:\n{self.log_tail()}"
            ) from exc

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._request(method, path, **kwargs)
        if resp.status_code != 200:
            raise ComfyServerError(f"{method} {path}: HTTP {resp.status_code}: {resp.text[:2000]}")
        return resp.json()

    def object_info(self, node_class: str | None = None) -> dict[str, Any]:
        """GET /object_info (all nodes) or /object_info/<class> (``{}`` if the class is unknown)."""
        return self._json("GET", "/object_info" if node_class is None else f"/object_info/{node_class}")

    def queue_prompt(
        self,
        prompt: Mapping[str, Any],
        client_id: str | None = None,
        *,
        prompt_id: str | None = None,
        extra_data: Mapping[str, Any] | None = None,
        front: bool = False,
        partial_execution_targets: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """POST /prompt. Returns ``{"prompt_id", "number", "node_errors"}``.

        Raises :class:`PromptRejected` (carrying the server's JSON body) when validation fails (HTTP 400).
        The websocket for ``client_id`` is connected first, so :meth:`wait_for` sees every message.
        """
        client_id = client_id or self.client_id
        listener = self._listener(client_id)
        body: dict[str, Any] = {"prompt": dict(prompt), "client_id": client_id}
        if prompt_id is not None:
            body["prompt_id"] = prompt_id
        if extra_data:
            body["extra_data"] = dict(extra_data)
        if front:
            body["front"] = True
        if partial_execution_targets is not None:
            body["partial_execution_targets"] = list(partial_execution_targets)
        resp = self._request("POST", "/prompt", json=body)
        if resp.status_code == 400:
            try:
                payload = resp.json()
            except ValueError:
                payload = resp.text
            raise PromptRejected(resp.status_code, payload)
        if resp.status_code != 200:
            raise ComfyServerError(f"POST /prompt: HTTP {resp.status_code}: {resp.text[:2000]}")
        answer = resp.json()
        self._prompt_listeners[str(answer["prompt_id"])] = listener
        return answer

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The /history entry of a prompt, or None while it is queued or running."""
        return self._json("GET", f"/history/{prompt_id}").get(prompt_id)

    def queue(self) -> dict[str, Any]:
        """GET /queue: ``{"queue_running": [...], "queue_pending": [...]}``."""
        return self._json("GET", "/queue")

    def interrupt(self, prompt_id: str | None = None) -> None:
        """POST /interrupt; with ``prompt_id`` only if that prompt is the one running."""
        resp = self._request("POST", "/interrupt", json={"prompt_id": prompt_id} if prompt_id else {})
        if resp.status_code != 200:
            raise ComfyServerError(f"POST /interrupt: HTTP {resp.status_code}: {resp.text[:500]}")

    def free(self, *, unload_models: bool = True, free_memory: bool = True) -> None:
        """POST /free: unload models and/or drop cached node outputs (applied after the running prompt)."""
        resp = self._request("POST", "/free", json={"unload_models": unload_models, "free_memory": free_memory})
        if resp.status_code != 200:
            raise ComfyServerError(f"POST /free: HTTP {resp.status_code}: {resp.text[:500]}")

    # --- websocket ------------------------------------------------------------------------------------------
    def connect_client(self, client_id: str, *, preview_metadata: bool | None = None) -> None:
        """Open (or reopen) the websocket for ``client_id`` before queueing prompts with it.

        ``preview_metadata=False`` behaves like an old client: previews then arrive without a node id and
        are attributed to the node that is executing. Defaults to the server-wide setting.
        """
        old = self._listeners.pop(client_id, None)
        if old is not None:
            old.close()
        self._listener(client_id, preview_metadata)

    def _listener(self, client_id: str, preview_metadata: bool | None = None) -> _WsListener:
        listener = self._listeners.get(client_id)
        if listener is not None and not listener.closed:
            return listener
        if not self.is_running or self.port is None:
            raise ComfyServerError("server not running; call start() first")
        if preview_metadata is None:
            preview_metadata = self.preview_metadata
        listener = _WsListener(self.host, self.port, client_id, preview_metadata=preview_metadata, connect_timeout=30)
        self._listeners[client_id] = listener
        return listener

    def run(
        self,
        prompt: Mapping[str, Any],
        timeout: float = 300.0,
        *,
        on_message: Callable[[WsMessage], None] | None = None,
    ) -> PromptResult:
        """Queue ``prompt`` and wait for it: :meth:`queue_prompt` + :meth:`wait_for`."""
        answer = self.queue_prompt(prompt)
        return self.wait_for(answer["prompt_id"], timeout, on_message=on_message)

    def run_ok(self, prompt: Mapping[str, Any], timeout: float = 1200.0, **kwargs: Any) -> PromptResult:
        """:meth:`run` for a prompt that must succeed (:meth:`PromptResult.raise_for_status`)."""
        return self.run(prompt, timeout, **kwargs).raise_for_status()

    def wait_for(
        self,
        prompt_id: str,
        timeout: float = 300.0,
        *,
        on_message: Callable[[WsMessage], None] | None = None,
    ) -> PromptResult:
        """Collect the websocket messages of a prompt until it finishes, then read its /history entry.

        ``on_message`` is called (in this thread) for every message as it arrives, e.g. to call
        :meth:`interrupt` once a node reports progress. A prompt that was not queued through this object
        is followed by polling /history instead (no websocket messages then).
        """
        if prompt_id in self._results:
            return self._results[prompt_id]
        listener = self._prompt_listeners.get(prompt_id)
        start = time.monotonic()
        deadline = start + timeout
        if listener is None:
            return self._result_from_history(prompt_id, deadline, start)

        messages: list[WsMessage] = []
        terminal: WsMessage | None = None
        terminal_at = 0.0
        finished = False
        while not finished:
            wait_until = deadline if terminal is None else min(deadline, terminal_at + _FINISH_GRACE_S)
            new = listener.messages_since(prompt_id, len(messages), wait_until)
            for msg in new:
                messages.append(msg)
                if on_message is not None:
                    on_message(msg)
                if msg.type in TERMINAL_EVENTS and msg.data.get("exception_type") != "ExecutionBlocked":
                    # An ExecutionBlocker with a message reports execution_error but the prompt goes on.
                    terminal, terminal_at = msg, time.monotonic()
                if msg.type == "executing" and msg.data.get("node") is None:
                    finished = True  # sent after the history entry is written
            if new or finished:
                continue
            now = time.monotonic()
            if terminal is not None and (now >= terminal_at + _FINISH_GRACE_S or now >= deadline):
                break  # no closing "executing" message; the history poll below still waits for the entry
            if listener.closed:
                raise ComfyServerError(
                    f"websocket closed ({listener.close_reason}) before prompt {prompt_id} finished; "
                    f"seen: {[m.type for m in messages]}. Log tail:\n{self.log_tail()}"
                )
            if now >= deadline:
                raise PromptTimeout(
                    f"prompt {prompt_id} did not finish within {timeout:.0f}s; seen: {[m.type for m in messages]}; "
                    f"queue: {self._queue_summary()}. Log tail:\n{self.log_tail(40)}"
                )
        elapsed = time.monotonic() - start
        entry = self._wait_history(prompt_id, max(deadline, time.monotonic() + _FINISH_GRACE_S))
        status = TERMINAL_EVENTS[terminal.type] if terminal is not None else _status_from_history(entry)
        result = self._build_result(prompt_id, status, messages, terminal, entry, elapsed)
        listener.forget(prompt_id)
        self._results[prompt_id] = result
        return result

    def _queue_summary(self) -> str:
        try:
            q = self.queue()
        except ComfyServerError as exc:
            return f"unavailable ({exc})"
        running = [item[1] for item in q.get("queue_running", [])]
        return f"running={running}, pending={len(q.get('queue_pending', []))}"

    def _wait_history(self, prompt_id: str, deadline: float) -> dict[str, Any]:
        while True:
            entry = self.history(prompt_id)
            if entry is not None:
                return entry
            if time.monotonic() >= deadline:
                raise PromptTimeout(
                    f"no /history entry for prompt {prompt_id}; queue: {self._queue_summary()}. "
                    f"Log tail:\n{self.log_tail(40)}"
                )
            if not self.is_running:
                raise ComfyServerError(f"server died while waiting for prompt {prompt_id}:\n{self.log_tail()}")
            time.sleep(0.05)

    def _result_from_history(self, prompt_id: str, deadline: float, start: float) -> PromptResult:
        entry = self._wait_history(prompt_id, deadline)
        # History keeps (event, data) pairs of the status messages; turn them into messages with no timing.
        messages = [
            WsMessage(str(event), dict(data), 0.0) for event, data in (entry.get("status") or {}).get("messages", [])
        ]
        terminal = next((m for m in reversed(messages) if m.type in TERMINAL_EVENTS), None)
        status = TERMINAL_EVENTS[terminal.type] if terminal is not None else _status_from_history(entry)
        result = self._build_result(prompt_id, status, messages, terminal, entry, time.monotonic() - start)
        self._results[prompt_id] = result
        return result

    def _build_result(
        self,
        prompt_id: str,
        status: Status,
        messages: list[WsMessage],
        terminal: WsMessage | None,
        entry: dict[str, Any],
        elapsed: float,
    ) -> PromptResult:
        progress: dict[str, list[tuple[float, float]]] = {}
        previews: dict[str, int] = {}
        for msg in messages:
            if msg.type == "progress":
                node = str(msg.data.get("node"))
                progress.setdefault(node, []).append((float(msg.data["value"]), float(msg.data["max"])))
            elif msg.type == "preview_image":
                node = str(msg.data.get("node"))
                previews[node] = previews.get(node, 0) + 1
        error = dict(terminal.data) if terminal is not None and status != "success" else None
        return PromptResult(
            prompt_id=prompt_id,
            status=status,
            messages=messages,
            progress=progress,
            previews=previews,
            error=error,
            outputs=entry.get("outputs") or {},
            history=entry,
            base_dir=self.base_dir,
            elapsed=elapsed,
            output_dir=self._output_directory,
        )


def _status_from_history(entry: dict[str, Any]) -> Status:
    status = entry.get("status") or {}
    events = [event for event, _ in status.get("messages", [])]
    if "execution_interrupted" in events:
        return "interrupted"  # history itself records an interrupt as status_str "error"
    return "success" if status.get("status_str") == "success" else "error"
