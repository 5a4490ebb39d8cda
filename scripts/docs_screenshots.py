"""Small copies of the kiosk screenshots for the README: `make test` writes full-size PNGs to
.run/screenshots/kiosk/; this writes half-size PNGs (well under 150 KB each) to docs/, with Chromium.

    .venv/bin/python scripts/docs_screenshots.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.browser import ensure_chromium

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / ".run" / "screenshots" / "kiosk"
PICKS = {"portrait-01-welcome": "kiosk-welcome", "portrait-03-menu-with-order": "kiosk-menu",
         "portrait-04-review": "kiosk-review", "portrait-05-pay": "kiosk-pay", "portrait-07-ready": "kiosk-paid",
         "landscape-03-menu-with-order": "kiosk-menu-landscape"}


def main() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=ensure_chromium(), args=["--headless", "--no-sandbox"])
        for source, target in PICKS.items():
            png = SHOTS / f"{source}.png"
            width, height = (540, 960) if source.startswith("portrait") else (960, 540)
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_content(f'<body style="margin:0"><img src="data:image/png;base64,{_b64(png)}" '
                             f'style="width:{width}px;height:{height}px;display:block"></body>')
            out = ROOT / "docs" / f"{target}.png"
            page.screenshot(path=str(out))
            print(f"{out.relative_to(ROOT)}: {out.stat().st_size // 1024} KB")
            page.close()
        browser.close()


def _b64(path: Path) -> str:
    import base64

    return base64.b64encode(path.read_bytes()).decode()


if __name__ == "__main__":
    main()
