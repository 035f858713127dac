"""Browser fixtures: Debian's chromium driven by Playwright against pytest-django's live server.

Playwright's own browser downloads are never used: the tests launch ``/usr/bin/chromium``
(``CHROMIUM`` overrides the path; ``.ci/run`` installs the package when it is missing). Without
it the browser tests are skipped, except where ``REQUIRE_BROWSER=1`` (CI) makes that a failure.

Reusable by every app's browser tests::

    pytestmark = pytest.mark.browser

    def test_something(page_for, admin_a, shoot):
        page = page_for(admin_a)                  # logged in (session cookie), desktop size
        page.goto("/dashboard/calls/")            # paths are relative to the live server
        shoot(page, "calls-list")                 # desktop and 375 px wide screenshots

``page_for(user, login_form=True)`` logs in through the login page instead. Staff users always
log in through the admin's login page and type their current TOTP code (tests/two_factor.py),
as staff really do. Test data made in
the test (factories, fixtures such as ``tenant_a``) is visible to the server: these tests run
with transactional database access, as ``live_server`` needs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.two_factor import staff_code

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def browser():
    """One chromium per test module, stopped afterwards.

    Playwright's sync API keeps an event loop running in this thread while it is started;
    Django would then refuse database access from test code ("async unsafe"), so it is allowed
    for exactly as long as Playwright runs, and the previous value is put back.
    """
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":  # CI: a missing browser is a failure
            pytest.fail(message)
        pytest.skip(message)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def session_cookie_for(user, base_url: str) -> dict:
    client = Client()
    client.force_login(user)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": value, "url": base_url}


@pytest.fixture
def page_for(browser, live_server, transactional_db):
    """``page_for(user=None, *, login_form=False, password="pw", viewport=DESKTOP)`` → a
    Playwright page on the live server, logged in as ``user`` when one is given."""
    contexts = []

    def open_page(user=None, *, login_form=False, password="pw", viewport=DESKTOP):
        context = browser.new_context(base_url=live_server.url, viewport=viewport)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        if user is not None and user.is_staff:
            code = staff_code(user)  # the authenticator app, enrolled earlier
            page.goto("/admin/login/")
            page.get_by_label("Username").fill(user.get_username())
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/admin/second-factor/**")
            page.locator("#id_code").fill(code)
            page.get_by_role("button", name="Verify").click()
            page.wait_for_url("**/admin/")
        elif user is not None and login_form:
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill(user.get_username())
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/dashboard/")
        elif user is not None:
            context.add_cookies([session_cookie_for(user, live_server.url)])
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shoot():
    """``shoot(page, name)``: full-page screenshots at desktop size and 375 px wide, under
    test-artifacts/screenshots/, and a check that the narrow page needs no sideways scrolling."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        size = page.viewport_size or DESKTOP
        page.screenshot(path=SCREENSHOTS / f"{name}-desktop.png", full_page=True)
        page.set_viewport_size(NARROW)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        page.screenshot(path=SCREENSHOTS / f"{name}-375.png", full_page=True)
        page.set_viewport_size(size)
        assert overflow <= 0, f"{name}: the page is {overflow}px wider than a 375px screen"

    return take
