"""The unsubscribe pages as a person sees them: Debian's Chromium, headless, JavaScript off, a
phone's 375 x 667 viewport, driving the webhook function on moto behind a real HTTP server on
127.0.0.1 (tests/function_url.py makes each request the Function URL's event).

Screenshots go to $SCREENSHOT_DIR when set, else to the test's tmp_path; never committed.
Without Chromium or Playwright the browser tests are skipped, except under CI=true, where they
fail: CI installs both (.ci/run, the dev lock). The RFC 8058 one-click POST needs no browser.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import pytest

from handler import webhook_function
from handler.aws.participants import DynamoParticipants
from handler.outbound.participants import Participant
from handler.outbound.unsubscribe import unsubscribe_key, unsubscribe_url
from tests.dynamo import CLAIMS_TABLE
from tests.function_url import serving
from tests.test_lambda import Context

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
# What a launch needs to stay quiet and offline; launch() gives it a fresh user-data-dir.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 375, "height": 667}
# The smallest touch target the platforms' guidelines allow (Apple's HIG: 44 pt).
MIN_TARGET_PX = 44
MIN_FONT_PX = 16
REGION = "eu-west-1"
SECRET = "webhook secret"
REPO = "example-org/website"
ALICE = "alice.moreau@example.com"
ROUTES = f"""routes:
  - domain: issues.example.com
    prefix: web-
    repo: {REPO}
    allowed_senders: [example.com]
    notify_participants: true
"""


@pytest.fixture
def site(dynamodb, monkeypatch, tmp_path) -> Iterator[str]:
    """The webhook function as deployed (its secret, queue, routes and table), served over HTTP
    on 127.0.0.1, with Alice a participant of #45; yields the base URL."""
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = secrets.create_secret(Name="webhook", SecretString=SECRET)["ARN"]
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="work")["QueueUrl"]
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    for name, value in {
        "ROUTES_FILE": str(routes),
        "WEBHOOK_SECRET_ARN": arn,
        "WORK_QUEUE_URL": queue_url,
        "IDEMPOTENCY_TABLE": CLAIMS_TABLE,
    }.items():
        monkeypatch.setenv(name, value)
    alice = Participant(ALICE, "issues.example.com", "web-", "a1@mail.example.com", "Printer")
    DynamoParticipants(dynamodb, CLAIMS_TABLE).add(REPO, 45, alice, time.time())
    webhook_function.runtime.cache_clear()
    with serving(lambda event: webhook_function.lambda_handler(event, Context())) as url:
        yield url
    webhook_function.runtime.cache_clear()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, or the test skipped (failed under CI=true)."""
    missing = _missing_browser()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {missing}: CI must run the browser tests")
        pytest.skip(f"{missing}: the unsubscribe page's browser tests need Playwright and Chromium")
    # Imported here: without playwright the module still loads, and the one-click test runs.
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context with JavaScript off and a phone's viewport."""
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ["SCREENSHOT_DIR"]) if os.environ.get("SCREENSHOT_DIR") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _missing_browser() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the python package playwright is not installed"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is absent (apt-get install chromium)"
    return None


def link(base: str, repo: str = REPO, issue: int = 45) -> str:
    """Alice's unsubscribe link, as her update mails carry it, under the local server."""
    url = unsubscribe_url(base, unsubscribe_key(SECRET.encode()), repo, issue, ALICE)
    assert urlsplit(url).path == "/unsubscribe"
    return url


def subscribed(dynamodb: Any) -> list[str]:
    return [p.address for p in DynamoParticipants(dynamodb, CLAIMS_TABLE).of(REPO, 45).participants]


def assert_reads_well(page: Page) -> None:
    """No horizontal scroll at the phone's width, body text of at least 16 px, the heading and
    every paragraph visible, the button (if any) inside the viewport and finger-sized."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide: it scrolls sideways"
    font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font >= MIN_FONT_PX
    assert page.locator("h1").is_visible()
    paragraphs = page.locator("p")
    assert paragraphs.count() >= 1
    for index in range(paragraphs.count()):
        assert paragraphs.nth(index).is_visible()
    for button in page.locator("button").all():
        box = button.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["y"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        assert box["y"] + box["height"] <= PHONE["height"], "the button is below the fold"
        assert box["height"] >= MIN_TARGET_PX


def test_a_person_unsubscribes_on_a_phone_without_javascript(site, dynamodb, phone, screenshots):
    """GET of the link shows the confirmation with its button (nobody removed yet); clicking it
    POSTs and shows the done page, and Alice is off #45."""
    violations: list[str] = []
    phone.on("console", lambda message: violations.append(message.text))
    opened = phone.goto(link(site))
    assert opened is not None
    assert opened.status == 200
    assert phone.title() == f"Unsubscribe from {REPO}#45"
    assert phone.locator("h1").inner_text() == f"Stop getting mail about {REPO}#45?"
    assert "Only this issue's mail stops" in phone.locator("main").inner_text()
    assert_reads_well(phone)
    button = phone.get_by_role("button", name="Unsubscribe")
    # The page's style applied (its hash matches the policy): the button spans the column.
    column = phone.locator("main").bounding_box()
    box = button.bounding_box()
    assert column is not None
    assert box is not None
    assert box["width"] == pytest.approx(column["width"], abs=1)
    phone.screenshot(path=screenshots / "unsubscribe-confirm.png", full_page=True)
    assert subscribed(dynamodb) == [ALICE]

    with phone.expect_navigation():
        button.click()
    assert phone.title() == "Unsubscribed"
    assert f"You will no longer get mail about {REPO}#45." in phone.locator("main").inner_text()
    assert_reads_well(phone)
    phone.screenshot(path=screenshots / "unsubscribe-done.png", full_page=True)
    assert subscribed(dynamodb) == []
    assert not [text for text in violations if "Content Security Policy" in text]


def test_a_tampered_link_shows_the_invalid_page(site, dynamodb, phone, screenshots):
    """A link whose issue was changed is the 400 page, readable too, and removes nobody."""
    tampered = link(site).replace("i=45", "i=46")
    opened = phone.goto(tampered)
    assert opened is not None
    assert opened.status == 400
    assert phone.locator("h1").inner_text() == "Link not valid"
    assert phone.locator("button").count() == 0
    assert_reads_well(phone)
    phone.screenshot(path=screenshots / "unsubscribe-invalid.png", full_page=True)
    assert subscribed(dynamodb) == [ALICE]


def test_a_long_repository_name_does_not_widen_the_page(site, phone):
    """A repository name of 100 characters wraps inside the phone's width."""
    repo = "example-org/" + "a" * 88
    opened = phone.goto(link(site, repo=repo, issue=2_147_483_647))
    assert opened is not None
    assert opened.status == 200
    assert_reads_well(phone)


def test_one_click_post_needs_no_page(site, dynamodb):
    """A mail client's RFC 8058 one-click: a plain POST of the fixed form body, no page GET
    before it, takes Alice off #45."""
    url = urlsplit(link(site))
    connection = HTTPConnection(url.netloc, timeout=30)
    connection.request(
        "POST",
        f"{url.path}?{url.query}",
        body=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    answer = connection.getresponse()
    assert answer.status == 200
    assert b"You will no longer get mail about" in answer.read()
    connection.close()
    assert subscribed(dynamodb) == []
