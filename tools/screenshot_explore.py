"""Drive `sim explore` in a real browser: start it, open the page with every request checked,
move a slider, run, and take the screenshot of docs/explore.md.

    python tools/screenshot_explore.py            write docs/img/explore.png
    python tools/screenshot_explore.py OUT.png    write it elsewhere

Uses Debian's chromium through Playwright (never a downloaded browser). tests/test_explore.py
reuses these functions for its browser test; only this script (or the test with
SIM_EXPLORE_SCREENSHOT=1) writes into docs/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "img" / "explore.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOCAL = {"127.0.0.1", "localhost", "::1"}
VIEWPORT = {"width": 1400, "height": 1000}


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    started: float


def start(*args: str, cwd: Path | None = None, timeout: float = 60.0) -> Server:
    """`sim explore ARGS --no-browser --port 0` in a subprocess, once it listens."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "sim", "explore", *args, "--no-browser", "--port", "0"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd or ROOT
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # `sim explore: serving ... at URL (Ctrl-C stops it)`
    if " at http" not in line:
        proc.kill()
        _, err = proc.communicate(timeout=timeout)
        raise RuntimeError(f"sim explore did not start: {line!r} {err[-2000:]}")
    url = line.split(" at ", 1)[1].split()[0]
    return Server(proc, url, t0)


def stop(server: Server, timeout: float = 30.0) -> tuple[int, str]:
    """Ctrl-C (SIGINT) and wait: (exit code, stderr)."""
    server.proc.send_signal(signal.SIGINT)
    try:
        _, err = server.proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        _, err = server.proc.communicate()
        return -9, err
    return server.proc.returncode, err


def host_of(url: str) -> str | None:
    """The host a request goes to; an in-page `blob:` URL is its origin's; `data:` is none."""
    if url.startswith("data:"):
        return None
    return urlsplit(url[5:] if url.startswith("blob:") else url).hostname


@dataclass
class Watch:
    """Every request the page makes; those to any other host are refused and listed."""

    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        def route(r: Any) -> None:
            url = r.request.url
            self.requests.append(url)
            host = host_of(url)
            if host is not None and host not in LOCAL:
                self.foreign.append(url)
                r.abort()
            else:
                r.continue_()

        page.route("**/*", route)
        page.on("websocket", lambda ws: self._socket(ws.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _socket(self, url: str) -> None:
        self.requests.append(url)
        if host_of(url) not in LOCAL:
            self.foreign.append(url)


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(b: Any, url: str, watch: Watch, timeout_ms: float = 90_000) -> Any:
    """The explorer's page, loaded, its first run's figures shown."""
    page = b.new_page(viewport=VIEWPORT)
    watch.attach(page)
    page.goto(url)
    page.locator(".sim-figure-alignment").first.wait_for(timeout=timeout_ms)
    page.locator(".sim-figure-punching").first.wait_for(timeout=timeout_ms)
    return page


def status(page: Any) -> str:
    return str(page.locator(".sim-status").first.inner_text())


def figure(page: Any, name: str) -> bytes:
    """The pixels of one figure, as shown."""
    shot: bytes = page.locator(f".sim-figure-{name}").first.screenshot()
    return shot


def move_slider(page: Any, key: str, keys: str = "End") -> None:
    """Move the slider of a declared parameter with the keyboard (as a user can)."""
    thumb = page.locator(".sim-knob", has_text=key).first.get_by_role("slider")
    thumb.focus()
    thumb.press(keys)


def switch_lever(page: Any, name: str) -> None:
    """Switch a lever off (or on) by clicking its label, as a user does."""
    page.locator(".v-input--switch", has_text=f"{name} (").first.locator("label").click()


def run_and_wait(page: Any, before: str, timeout_ms: float = 60_000) -> str:
    """Click Run and wait until the status line tells of the new run."""
    page.get_by_role("button", name="Run", exact=True).click()
    return wait_for_status(page, before, timeout_ms)


def wait_for_status(page: Any, before: str, timeout_ms: float = 60_000) -> str:
    """Wait until the status line tells of a run other than `before`."""
    page.wait_for_function(
        "prev => { const e = document.querySelector('.sim-status'); return e && e.innerText !== prev; }",
        arg=before,
        timeout=timeout_ms,
    )
    return status(page)


def screenshot(out: Path = SCREENSHOT) -> Path:
    """The explorer on the baseline with synergy at its maximum and the EU AI Act off: the
    figures against the scenario as it is."""
    server = start()
    try:
        with browser() as b:
            watch = Watch()
            page = open_page(b, server.url, watch)
            before = status(page)
            move_slider(page, "model.synergy")
            switch_lever(page, "EU AI Act")
            run_and_wait(page, before)
            page.wait_for_timeout(500)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            if watch.foreign:
                raise RuntimeError(f"the page asked other hosts: {watch.foreign}")
    finally:
        stop(server)
    return out


if __name__ == "__main__":
    print(screenshot(Path(sys.argv[1]) if len(sys.argv) > 1 else SCREENSHOT))
