"""Opening an exported page as a person without network would: the file itself loads, every other request
is aborted and recorded (shared by the offline browser tests)."""

from __future__ import annotations

import pathlib


def open_offline(browser, path: pathlib.Path):
    """Open a file:// page with every other request aborted; returns (page, the URLs it tried)."""
    page = browser.new_page()
    attempted: list[str] = []
    page_url = path.resolve().as_uri()

    def only_the_file(route):
        if route.request.url == page_url:
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_file)
    page.goto(page_url)
    page.wait_for_selector("body[data-igw-rendered]")
    return page, attempted
