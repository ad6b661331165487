"""`make demo` on a machine with no display: it explains a digit, runs the quickstart and writes an
offline page, quickly, and exits 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_headless_demo_writes_an_offline_quickstart_page(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    finished = subprocess.run(
        [sys.executable, "-m", "ig_widget.demo", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    out = finished.stdout
    gap = re.search(r"completeness gap ([-+0-9.e]+) \(([-+0-9.]+)%\)", out)
    assert gap and abs(float(gap.group(2))) < 2.0, out
    page = tmp_path / "01_quickstart.html"
    assert str(page.resolve()) in out
    html = page.read_text()
    assert "application/vnd.jupyter.widget-state+json" in html and "StaticModel" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
