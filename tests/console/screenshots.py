"""The README's console screenshots, taken with Playwright and the OS's Chromium from a running server (as
`clarimon demo --keep-serving` leaves one):

    python -m tests.console.screenshots http://127.0.0.1:PORT/console/ KEY SECRET docs/
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright


def take(console: str, key: str, secret: str, folder: Path) -> list[Path]:
    """Sign in, then save the overview and the first schedule's page as PNG files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    taken = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1000, "height": 1100}, device_scale_factor=1)
        page.goto(console)
        page.fill("input[name=key_id]", key)
        page.fill("input[name=secret]", secret)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        taken.append(_shot(page, folder / "console-overview.png", full=True))
        page.click("table.schedules td a")
        page.wait_for_load_state("networkidle")
        taken.append(_shot(page, folder / "console-schedule.png", full=False))  # the top: timeline, NDCG, features
        browser.close()
    return taken


def _shot(page: Page, path: Path, *, full: bool) -> Path:
    page.screenshot(path=str(path), full_page=full)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    for written in take(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])):
        print(written, written.stat().st_size, "bytes")
