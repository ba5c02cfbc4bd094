"""Load a page of the real app in Debian's headless Chromium, with no network off the machine.

``load(url)`` runs Chromium once (serve the app with tests.serving first) and
returns what a person would get: the DOM after the page's scripts ran, every URL the page
itself asked for (Chromium's own net log) and the console lines. Chromium runs in a
process group of its own with a throwaway profile, and the group is killed afterwards, so
nothing is left running even when it hangs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
MISSING = "install Debian's chromium: apt-get install chromium"


def chromium() -> str:
    """Debian's Chromium; skip without it, or fail when PAYYMO_REQUIRE_BROWSER=1."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if os.environ.get("PAYYMO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"PAYYMO_REQUIRE_BROWSER=1 but {CHROMIUM} is missing: {MISSING}")
    pytest.skip(MISSING)


@dataclass
class Page:
    """What Chromium saw: the final DOM, the page's own requests, console lines."""

    dom: str
    requested: list[str]
    console: list[str]


def load(url: str, *, workdir: Path, budget_ms: int = 10_000, timeout: float = 60) -> Page:
    """Load ``url`` in headless Chromium with every host but 127.0.0.1 unresolvable."""
    browser = chromium()
    profile, netlog = workdir / "profile", workdir / "netlog.json"
    dom_file, log_file = workdir / "dom.html", workdir / "chromium.log"
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--log-net-log={netlog}",
        "--enable-logging=stderr",
        "--v=0",
        # Virtual time runs only while no fetch is pending: the DOM is dumped once the
        # page's scripts and their requests have settled, not after a guessed delay.
        f"--virtual-time-budget={budget_ms}",
        "--dump-dom",
        url,
    ]
    # Files, not pipes: a helper process that outlived Chromium would hold a pipe open.
    with dom_file.open("w") as out, log_file.open("w") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        finally:
            _kill_group(process)
    log = log_file.read_text(errors="replace")
    assert code == 0, f"chromium exited {code}:\n{log[-4000:]}"
    return Page(
        dom=dom_file.read_text(),
        requested=_page_requests(netlog, _origin(url)),
        console=[line for line in log.splitlines() if ":CONSOLE" in line],
    )


def _kill_group(process: subprocess.Popen) -> None:
    # Renderer, GPU and crashpad helpers share Chromium's group: none may outlive the test.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _origin(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _page_requests(netlog: Path, origin: str) -> list[str]:
    """Every URL the page loaded or tried to load (Chromium's own traffic left out)."""
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] != start_job or "url" not in params:
            continue
        # The page's own requests carry its origin as initiator; the top document none.
        if params.get("initiator") == origin or params.get("request_type") == "main frame":
            urls.append(params["url"])
    return urls


CHROMEDRIVER = "/usr/bin/chromedriver"
DRIVER_MISSING = "install Debian's chromium-driver: apt-get install chromium-driver"


@contextmanager
def driven(workdir: Path) -> Iterator:
    """A Selenium-driven headless Chromium (Debian's, with chromium-driver): a person's
    browser that clicks and types; every host but 127.0.0.1 is unresolvable."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = chromium()
    if not os.access(CHROMEDRIVER, os.X_OK):
        if os.environ.get("PAYYMO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"PAYYMO_REQUIRE_BROWSER=1 but {CHROMEDRIVER} is missing: {DRIVER_MISSING}")
        pytest.skip(DRIVER_MISSING)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--window-size=1200,900",
        f"--user-data-dir={workdir / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(workdir / "chromedriver.log"))
    browser = webdriver.Chrome(options=options, service=service)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


def replaced(old):
    """A WebDriverWait condition: ``old`` (an element) left the document.

    Selenium's ``staleness_of`` knows only StaleElementReferenceException; ChromeDriver
    156 sometimes answers a node of a page being replaced with "Node with given id does
    not belong to the document" instead (seen on a loaded machine), which means the same.
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def gone(_driver) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    return gone


def follow(page, element) -> None:
    """Click a link or button and wait until the next page has replaced this one and loaded."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    old = page.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(page, 20).until(replaced(old))
    # Wait for the new page to finish loading too, or an element found now may belong to a
    # document still being replaced.
    WebDriverWait(page, 20).until(
        lambda p: p.execute_script("return document.readyState") == "complete"
    )
