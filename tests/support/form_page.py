"""The settings form in a real browser: react-jsonschema-form bundled at test time, Chromium.

``page_dir()`` installs the npm packages pinned in ``tests/form/package.json`` and bundles
``tests/form/harness.jsx`` with the host snippet of ``docs/settings-form.md`` into a cache
outside the repository, keyed by a hash of those sources, so a second run reuses it.
``open_browser()`` starts the distribution's Chromium (``scripts/install-services`` installs
it) through Playwright.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "form"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# This machine's network is closed: nothing in the background may try to reach out.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_TIMEOUT_S = 300
BUNDLE_TIMEOUT_S = 60
LAUNCH_TIMEOUT_MS = 60_000  # a loaded 2-core machine
WAIT_MS = 15_000
WIDTH_PX = 1200
"""The width the form is measured and shown at (issue 19: its height budget is at 1,200 px)."""
INDEX = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>TikTok Events API settings</title>
<link rel="stylesheet" href="css/bootstrap.min.css">
<style>body { margin: 24px auto; max-width: 960px; }</style>
</head>
<body><div id="app"></div><script src="bundle.js"></script></body>
</html>
"""


def host_snippet() -> str:
    """The react-jsonschema-form host snippet of docs/settings-form.md (its only ``jsx`` block)."""
    page = (ROOT / "docs" / "settings-form.md").read_text(encoding="utf-8")
    (snippet,) = re.findall(r"```jsx\n(.*?)```", page, re.S)
    return str(snippet)


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tiktok-destination"


def _run(command: list[str], cwd: Path, timeout: float) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )


def page_dir() -> Path:
    """A folder with ``index.html``, its bundle and its CSS; built once per version of sources."""
    sources = {
        "package.json": (HARNESS / "package.json").read_text(encoding="utf-8"),
        "harness.jsx": (HARNESS / "harness.jsx").read_text(encoding="utf-8"),
        "host.jsx": host_snippet(),
        "index.html": INDEX,
    }
    key = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:16]
    done = _cache_root() / f"form-{key}"
    if (done / "index.html").is_file():
        return done
    done.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="form-build-", dir=done.parent))
    try:
        for name, text in sources.items():
            (work / name).write_text(text, encoding="utf-8")
        npm = ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"]
        _run(npm, work, INSTALL_TIMEOUT_S)
        page = work / "page"
        bundle = [
            str(work / "node_modules" / ".bin" / "esbuild"),
            "harness.jsx",
            "--bundle",
            f"--outfile={page / 'bundle.js'}",
            "--jsx=automatic",
            '--define:process.env.NODE_ENV="development"',  # React's warnings stay on
            "--log-level=warning",
        ]
        _run(bundle, work, BUNDLE_TIMEOUT_S)
        bootstrap = work / "node_modules" / "bootstrap" / "dist"
        shutil.copytree(bootstrap / "css", page / "css")
        shutil.copytree(bootstrap / "fonts", page / "fonts")
        (page / "index.html").write_text(INDEX, encoding="utf-8")
        with suppress(OSError):  # another run may have finished the same build first
            page.rename(done)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return done


@contextmanager
def open_browser() -> Iterator[Browser]:
    """The distribution's Chromium, headless, with a fresh profile."""
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"{CHROMIUM} is missing: run scripts/install-services")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


class FormPage:
    """One tab showing the form, recording every console error and warning."""

    def __init__(self, browser: Browser, folder: Path) -> None:
        self.page: Page = browser.new_page(viewport={"width": WIDTH_PX, "height": 900})
        self.page.set_default_timeout(WAIT_MS)
        self.complaints: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.complaints.append(f"page error: {error}"))
        self.page.goto((folder / "index.html").as_uri())
        self.page.wait_for_function("typeof window.mount === 'function'")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning", "assert"):
            self.complaints.append(f"{message.type}: {message.text}")

    def close(self) -> None:
        with suppress(Error):
            self.page.close()
