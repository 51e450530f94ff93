"""Screenshots of HTML reports, for the documentation and for checking a report by eye.

    .venv/bin/python tools/screenshots.py REPORT/index.html OUT.png [REPORT2/index.html OUT2.png ...]
        [--width 1200] [--height 1800] [--full]

Opens each page in Debian's headless chromium (/usr/bin/chromium, driven by Playwright; no
browser is downloaded), waits until every image has loaded, and writes a PNG: the top of the
page (--width x --height, the part a reader sees first, which keeps the file small) or, with
--full, the whole page at --width. A page that logs an error, or an image that does not load,
stops the script with the page's name (exit 2), so a broken report never becomes a screenshot.

The documentation's screenshots (docs/img/report-*.png) are made from the reports of

    sim run --out /tmp/run --report
    sim run --replications 5 --workers 2 --out /tmp/rep --report
    sim compare baseline no_export_controls --replications 10 --workers 2 --report --out /tmp/cmp

as `tools/screenshots.py /tmp/run/report/index.html docs/img/report-run.png ...`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def fail(message: str) -> None:
    print(f"screenshots: {message}", file=sys.stderr)
    raise SystemExit(2)


def shoot(pairs: list[tuple[Path, Path]], width: int, height: int, full: bool) -> None:
    """Write one PNG per (index.html, png) pair."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        fail("playwright is missing: install requirements/dev.txt")
    if not Path(CHROMIUM).exists():
        fail(f"no browser at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for page_path, png in pairs:
                page = browser.new_page(viewport={"width": width, "height": height})
                errors: list[str] = []
                page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
                page.goto(page_path.resolve().as_uri())
                page.wait_for_load_state("load")
                loaded = "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)"
                widths = page.eval_on_selector_all("img", loaded)
                if errors or not all(w > 0 for w in widths):
                    fail(f"{page_path}: {errors or 'an image did not load'}")
                png.parent.mkdir(parents=True, exist_ok=True)
                tmp = png.with_name(f".{png.name}.tmp")
                if full:
                    page.screenshot(path=str(tmp), full_page=True, type="png")
                else:
                    page.screenshot(path=str(tmp), clip={"x": 0, "y": 0, "width": width, "height": height},
                                    full_page=True, type="png")  # fmt: skip
                tmp.replace(png)  # never a half-written screenshot
                print(f"wrote {png} ({png.stat().st_size // 1024} KB, {len(widths)} images on the page)")
                page.close()
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", nargs="+", metavar="INDEX.html OUT.png")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=1800)
    ap.add_argument("--full", action="store_true", help="the whole page, not only its top")
    args = ap.parse_args(argv)
    if len(args.pairs) % 2:
        fail("give pairs: a report's index.html, then the PNG to write")
    pairs = [(Path(a), Path(b)) for a, b in zip(args.pairs[::2], args.pairs[1::2], strict=True)]
    for page, png in pairs:
        if not page.is_file():
            fail(f"{page}: no such file")
        if png.suffix.lower() != ".png":
            fail(f"{png}: expected a .png file to write")
    shoot(pairs, args.width, args.height, args.full)


if __name__ == "__main__":
    main()
