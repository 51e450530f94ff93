"""Serving the explorer: Solara's Starlette app under uvicorn, in this process, offline.

Offline means that the page asks nothing of any host but this server:
- Solara's page template loads its JavaScript, CSS and fonts from `{cdn}`; with the assets
  proxy on (`SOLARA_ASSETS_PROXY=true`) that is this server's `/_solara/cdn/`, which serves
  the files of the `solara-assets` package (installed into `<prefix>/share/solara/cdn`).
  With the proxy off the page would load them from cdn.jsdelivr.net: it stays on.
- An asset missing from that folder would make the server fetch it from `SOLARA_ASSETS_CDN`;
  that is pointed at a closed local port, so it fails here instead of reaching the internet.
- Solara's telemetry (Mixpanel) is switched off; production mode leaves out the version check
  iframe of development mode; `solara run`'s PyPI version check is not used (uvicorn is
  started here).
These are environment variables because Solara reads its settings when first imported: they
are set before any Solara import (`offline_environment`). The browser test
(tests/test_explore.py) fails on any request to a host other than this server.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
import warnings
import webbrowser
from collections.abc import Callable

NO_CDN = "http://127.0.0.1:9/"  # the discard port: nothing listens, so a missing asset fails locally
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def offline_environment(app: str, scenario: str, folder: str) -> dict[str, str]:
    """The environment variables that make Solara serve `app` offline (see the module doc)."""
    from sim.explore.state import ENV_FOLDER, ENV_SCENARIO

    return {
        "SOLARA_APP": app,
        "SOLARA_MODE": "production",
        "SOLARA_ASSETS_PROXY": "true",
        "SOLARA_ASSETS_CDN": NO_CDN,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
        "SOLARA_THEME_TITLE": "sim explore",
        "SOLARA_THEME_SHOW_BANNER": "false",
        ENV_SCENARIO: scenario,
        ENV_FOLDER: folder,
    }


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one), so the URL is known before the
    server starts; refused ports are a `SimError`."""
    from sim.errors import SimError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SimError(f"--host {host}: {exc.strerror}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        raise SimError(
            f"cannot listen on {host}:{port}: {exc.strerror} (choose another --port; 0: a free one)"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    app: str,
    scenario: str,
    host: str,
    port: int,
    open_browser: bool,
    say: Callable[[str], None] = print,
) -> None:
    """Serve the Solara page module `app` until interrupted (KeyboardInterrupt propagates)."""
    os.environ.update(offline_environment(app, scenario, os.getcwd()))
    # Solara warns on every page load from a host not named `localhost` that its session cookie
    # cannot be `SameSite=None` over plain http; the page needs no cross-site cookie
    warnings.filterwarnings("ignore", message="Cookies with samesite=none", category=UserWarning)
    sock = bind(host, port)
    url = url_of(host, sock)
    import uvicorn

    config = uvicorn.Config("solara.server.starlette:app", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    say(f"sim explore: serving {scenario} at {url} (Ctrl-C stops it)")
    if host not in LOOPBACK:
        say(
            "warning: this host is reachable from other machines; anyone who reaches it can run the "
            "model and save files here"
        )
    if open_browser:

        def opener() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.1)
            if server.started:
                with contextlib.suppress(Exception):
                    webbrowser.open(url)

        threading.Thread(target=opener, daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if server.should_exit and not server.started:
        raise RuntimeError("the server did not start (above)")
    sys.stdout.flush()
