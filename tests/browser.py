"""Open HTML reports in headless Chromium through selenium (the browser tests' tooling).

    from browser import open_browser

    with open_browser() as browser:
        browser.open(path)           # waits until the page's script has drawn it
        browser.console_errors()     # severe console messages since the last open

`open_browser()` skips the calling test, with the reason, when selenium, Chromium or its
driver is missing (`.ci/install-browser` installs them on Debian). The screenshot of the
report in README.md and docs/outputs.md is made here: `python tests/browser.py` writes
docs/report.png from the plan of data/small.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVERS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
WINDOW = (1280, 1000)
READY_TIMEOUT_S = 60.0


def _first(paths: tuple[str, ...], name: str) -> str | None:
    found = [p for p in paths if Path(p).is_file()]
    return found[0] if found else shutil.which(name)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if _first(CHROMIUM, "chromium") is None:
        return "Chromium is not installed (.ci/install-browser: apt-get install chromium)"
    if _first(DRIVERS, "chromedriver") is None:
        return (
            "chromedriver is not installed (.ci/install-browser: apt-get install chromium-driver)"
        )
    return None


class Browser:
    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, path: Path) -> float:
        """Load `path` and wait until the report is drawn; return the seconds it took."""
        from selenium.webdriver.support.ui import WebDriverWait

        began = time.perf_counter()
        self.driver.get(Path(path).resolve().as_uri())
        WebDriverWait(self.driver, READY_TIMEOUT_S).until(
            lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1"
        )
        return time.perf_counter() - began

    def console_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def css(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)


@contextmanager
def open_browser(width: int = WINDOW[0], height: int = WINDOW[1]) -> Iterator[Browser]:
    reason = missing()
    if reason is not None:
        pytest.skip(f"browser tests skipped: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(_first(CHROMIUM, "chromium"))
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(_first(DRIVERS, "chromedriver")))
    driver = webdriver.Chrome(options=options, service=service)
    # The window holds the browser's own bars: grow it so the page itself is width x height.
    inner_w, inner_h = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * width - inner_w, 2 * height - inner_h)
    try:
        yield Browser(driver)
    finally:
        driver.quit()


def screenshot(html: Path, png: Path, height: int = 1400) -> None:
    """A PNG of the top of the report (the summary, binding limits and floor plans)."""
    with open_browser(WINDOW[0], height) as browser:
        browser.open(html)
        browser.driver.save_screenshot(str(png))


if __name__ == "__main__":  # python tests/browser.py: docs/report.png from data/small
    import tempfile

    from click.testing import CliRunner

    from optimizer.cli import main

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plan"
        result = CliRunner().invoke(main, ["plan", str(root / "data/small"), "--out", str(out),
                                           "--report", "--quiet"])  # fmt: skip
        assert result.exit_code == 0, result.output
        screenshot(out / "plan.html", root / "docs" / "report.png")
    print(f"wrote {root / 'docs' / 'report.png'}")
