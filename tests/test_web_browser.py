"""The console in a real browser (Debian's chromium, driven by Selenium through
chromium-driver): log in, open the review item a receipt with no order code made, see its page
drawn, confirm it for the proposed order, and the order moves and one e-mail goes out. The
review page's screenshot is kept in test-artifacts/ for people to look at."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import Mailbox, Workspace, free_port
from tests.console import NOW, OPERATOR, Office, office_of

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def served(
    ws_mail: tuple[Workspace, Mailbox], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Office, str]]:
    """The console served by uvicorn on a loopback port, for as long as the test runs."""
    with office_of(ws_mail[0], monkeypatch) as office:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(office.app(), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(100):  # bounded: 10 s
            if server.started:
                break
            time.sleep(0.1)
        assert server.started, "uvicorn started"
        try:
            # localhost: a secure context, where Chromium keeps the Secure session cookie.
            yield office, f"http://localhost:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver, "scripts/test.sh installs Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1366,1000", "--disable-gpu"):  # fmt: skip
        options.add_argument(flag)
    made = webdriver.Chrome(options=options, service=Service(driver))
    made.set_page_load_timeout(30)
    try:
        yield made
    finally:
        made.quit()


def test_confirming_a_no_code_receipt_in_the_browser(
    served: tuple[Office, str], browser: WebDriver, ws_mail: tuple[Workspace, Mailbox]
) -> None:
    office, base = served
    wait = WebDriverWait(browser, 20)
    browser.get(f"{base}/review")
    wait.until(ready.url_contains("/login"))
    browser.find_element(By.NAME, "name").send_keys(OPERATOR[0])
    browser.find_element(By.NAME, "password").send_keys(OPERATOR[1])
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(ready.url_to_be(f"{base}/review"))
    assert "Nessun codice ordine" in browser.page_source

    browser.find_element(By.LINK_TEXT, str(office.review_id)).click()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "img.page")))
    image = browser.find_element(By.CSS_SELECTOR, "img.page")
    wait.until(lambda b: b.execute_script("return arguments[0].complete", image))
    assert browser.execute_script("return arguments[0].naturalWidth", image) > 500
    assert "proposto" in browser.page_source or "LM3454898" in browser.page_source
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "review-page.png"))

    browser.find_element(By.XPATH, "//button[contains(., 'LM3454898')]").click()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".flash")))
    assert "LM3454898" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    story = json.loads(office.ws.cli("orders", "show", "LM3454898", "--json").stdout)
    assert story["state"] == "processing"
    office.ws.cli("run", "--once", "--now", NOW)
    office.ws.cli("run", "--once", "--now", NOW)
    assert len(ws_mail[1].messages) == 1


def test_pecflow_web_serves_the_console_on_the_address_given(
    ws_mail: tuple[Workspace, Mailbox],
) -> None:
    import os
    import subprocess
    import sys
    import urllib.request

    ws = ws_mail[0]
    assert ws.cli("db", "upgrade").exit_code == 0
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("pecflow")),
            "--config",
            str(ws.config),
            "web",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        env={**clean, **ws.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        answer = None
        for _ in range(150):  # bounded: 15 s
            try:
                answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.1)
        assert answer is not None and answer.status == 200
        assert answer.headers["x-frame-options"] == "DENY"
        assert "server" not in {k.lower() for k in answer.headers}
        assert (ws.root / "data" / "web.key").stat().st_mode & 0o077 == 0
    finally:
        server.terminate()
        server.wait(timeout=20)
