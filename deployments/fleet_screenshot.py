"""A real browser (Debian's chromium, headless) opens the `novita-fleet` artifact in the UI.

Used by the demo to prove the dashboard renders the fleet table, not just that the server
answers: it saves a screenshot and returns the table cells the page rendered.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Flags for a closed network: without them Chromium keeps dialling out."""


def find_chromium() -> str | None:
    """Path of the system Chromium (`apt-get install chromium`), or None.

    Example:
        >>> find_chromium() is None or find_chromium().endswith("chromium")
        True

    """
    return shutil.which("chromium") or shutil.which("chromium-browser")


def capture_fleet_table(
    ui_url: str, screenshot: Path, artifact_key: str = "novita-fleet", wait_ms: int = 60_000
) -> list[list[str]]:
    """Open the artifact's latest version in the Prefect UI, screenshot it, return its rows.

    Raises:
        RuntimeError: no Chromium on the machine.
        playwright's TimeoutError: the table never rendered.

    Example:
        ```python
        rows = capture_fleet_table("http://127.0.0.1:4200", Path("screenshots/novita-fleet.png"))
        ```

    """
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(f"{ui_url}/v2/artifacts/key/{artifact_key}", wait_until="networkidle")
            page.locator('a[href*="/artifacts/artifact/"]').first.click(timeout=wait_ms)
            page.locator("table td").first.wait_for(timeout=wait_ms)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(screenshot), full_page=True)
            rows = []
            for row in page.locator("table tbody tr").all():
                rows.append([cell.strip() for cell in row.locator("td").all_inner_texts()])
            return rows
        finally:
            browser.close()
