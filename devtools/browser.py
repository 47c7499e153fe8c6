"""Launch and close a headless Chromium for tests that look at the real ComfyUI frontend.

The browser is the system's Chromium (Debian's ``chromium`` package, which ``scripts/bootstrap.sh`` installs),
driven with the Python ``playwright`` package through ``executable_path``: Playwright's own browser downloads
(``playwright install``) are never used, so this works offline. Typical use::

    with HeadlessBrowser() as browser:
        browser.page.goto(server.url)
        ...
        browser.page.screenshot(path=artifacts_dir() / "page.png")

Every request to a host other than the loopback interface is aborted (and recorded in ``blocked``), so a test
never sends traffic off the machine, whatever the frontend tries to fetch. Console messages and page errors are
collected in ``console`` for failure reports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # playwright is a dev dependency, imported only when a browser is launched
    from playwright.sync_api import BrowserContext, Page, Playwright, Route

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ENV = "POSEGEN_CHROMIUM"
ARTIFACTS_ENV = "POSEGEN_TEST_ARTIFACTS"
# Where Debian (chromium) and Ubuntu/others (chromium-browser) put it; $POSEGEN_CHROMIUM comes first.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "chromium", "chromium-browser")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root in containers, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
INSTALL_HINT = (
    "Install Debian's Chromium (scripts/bootstrap.sh does this when run as root): "
    "`sudo apt-get install -y --no-install-recommends chromium`, or point $POSEGEN_CHROMIUM at a Chromium binary."
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class BrowserUnavailable(RuntimeError):
    """No Chromium binary, or no playwright package, to run a browser test with."""


def find_chromium() -> Path | None:
    """$POSEGEN_CHROMIUM if set (it must then exist), else the first Chromium among CHROMIUM_CANDIDATES."""
    override = os.environ.get(CHROMIUM_ENV)
    if override:
        found = shutil.which(override)
        if not found:
            raise BrowserUnavailable(f"${CHROMIUM_ENV}={override} is not an executable file")
        return Path(found)
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return Path(found)
    return None


def chromium_version(executable: Path) -> str:
    """``chromium --version`` (e.g. "Chromium 120.0.6099.224 built on Debian ..."), "" if it cannot say."""
    try:
        result = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip()


def artifacts_dir() -> Path:
    """$POSEGEN_TEST_ARTIFACTS, else <repo>/.cache/test-artifacts/ (git-ignored), created if missing."""
    path = Path(os.environ.get(ARTIFACTS_ENV) or REPO_ROOT / ".cache" / "test-artifacts").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome", "devtools"):
        return True
    return (parts.hostname or "") in LOOPBACK_HOSTS or (parts.hostname or "").startswith("127.")


class HeadlessBrowser:
    """One headless Chromium with a fresh profile (``--user-data-dir`` in a temporary folder) and one page.

    Use as a context manager, or call :meth:`start` and :meth:`close`. ``timings`` holds how long the launch
    took; ``console`` collects "[type] text" lines of console messages and page errors.
    """

    def __init__(
        self,
        executable: str | Path | None = None,
        *,
        viewport: tuple[int, int] = (1280, 900),
        timeout_s: float = 30.0,
        block_external: bool = True,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.executable = Path(executable) if executable else find_chromium()
        self.viewport = viewport
        self.timeout_s = timeout_s
        self.block_external = block_external
        self.args = [*CHROMIUM_FLAGS, *extra_args]
        self.console: list[str] = []
        self.blocked: list[str] = []
        self.timings: dict[str, float] = {}
        self._playwright: Playwright | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None

    @property
    def page(self) -> Page:
        if self._page is None:
            raise RuntimeError("the browser is not running; call start() or use `with HeadlessBrowser() as b:`")
        return self._page

    def start(self) -> HeadlessBrowser:
        if self.executable is None:
            raise BrowserUnavailable(f"no Chromium found ({', '.join(CHROMIUM_CANDIDATES)}). {INSTALL_HINT}")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise BrowserUnavailable(
                "the Python package `playwright` is missing (requirements-dev.txt; scripts/bootstrap.sh installs "
                "it). Its browser downloads are not needed: the system Chromium is used."
            ) from exc
        started = time.monotonic()
        self._profile = tempfile.TemporaryDirectory(prefix="posegen-chromium-")
        self._playwright = sync_playwright().start()
        try:
            # A persistent context is how Playwright takes a --user-data-dir of our choosing (launch() refuses the
            # flag); the folder is new and empty, so every run starts from a clean profile.
            self._context = self._playwright.chromium.launch_persistent_context(
                self._profile.name,
                executable_path=str(self.executable),
                headless=True,
                args=self.args,
                viewport={"width": self.viewport[0], "height": self.viewport[1]},
                timeout=self.timeout_s * 1000,
            )
            self._context.set_default_timeout(self.timeout_s * 1000)
            if self.block_external:
                self._context.route("**/*", self._route)
            self._page = self._context.pages[0] if self._context.pages else self._context.new_page()
            self._page.on("console", lambda msg: self.console.append(f"[{msg.type}] {msg.text}"))
            self._page.on("pageerror", lambda err: self.console.append(f"[pageerror] {err}"))
        except Exception:
            self.close()
            raise
        self.timings["launch_s"] = time.monotonic() - started
        return self

    def _route(self, route: Route) -> None:
        url = route.request.url
        if is_loopback_url(url):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def console_text(self) -> str:
        lines = list(self.console)
        if self.blocked:
            lines.append(f"[blocked {len(self.blocked)} non-loopback requests] " + ", ".join(self.blocked[:10]))
        return "\n".join(lines) or "(no console messages)"

    def close(self) -> None:
        """Close the page, the browser and Playwright's driver, and delete the profile. Safe to call twice."""
        for closer in (
            lambda: self._context.close() if self._context else None,
            lambda: self._playwright.stop() if self._playwright else None,
        ):
            try:
                closer()
            except Exception:  # closing is best effort: the browser may have died already
                pass
        self._context = self._page = self._playwright = None
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None

    def __enter__(self) -> HeadlessBrowser:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe_environment() -> dict[str, Any]:
    """What a browser test would run with, for reports: the Chromium binary and version, playwright's version."""
    info: dict[str, Any] = {"chromium": None, "chromium_version": "", "playwright": None}
    try:
        exe = find_chromium()
    except BrowserUnavailable:
        exe = None
    if exe:
        info["chromium"] = str(exe)
        info["chromium_version"] = chromium_version(exe)
    try:
        from importlib import metadata

        info["playwright"] = metadata.version("playwright")
    except Exception:  # not installed
        pass
    return info
