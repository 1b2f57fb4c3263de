"""The HTML report in a real headless Chromium (Playwright): the plots render, nothing is
fetched from the network, and the screenshot shows both series' colours."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright import sync_api  # in the dev extra; the browser is Debian's, never downloaded

import tether.monitoring as tm


def chromium() -> str:
    """Debian's chromium, installed on first use where this test may (root with apt-get), as
    `.ci/run` does; otherwise the test fails (never skips) saying how to install it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(step, capture_output=True, check=False, timeout=600)
        found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "the HTML report test needs Debian's chromium: `apt-get install chromium` "
            "(`.ci/run` does it); deselect it with -k 'not renders'",
            pytrace=False,
        )
    return found


ARGS = ["--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip


def _report() -> tm.DriftReport:
    rng = np.random.default_rng(0)
    n = 3_000
    old, new = ["a", "b", "c"], ["a", "b", "c", "d"]
    ref = pd.DataFrame({"x": rng.normal(0, 1, n), "y": rng.normal(0, 1, n),
                        "c": rng.choice(old, n, p=[0.6, 0.3, 0.1])})  # fmt: skip
    cur = pd.DataFrame({"x": rng.normal(1.0, 1, n), "y": rng.normal(0, 1, n),
                        "c": rng.choice(new, n, p=[0.1, 0.3, 0.5, 0.1])})  # fmt: skip
    return tm.drift(ref, cur)


def _rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])


@pytest.mark.slow  # starting Chromium takes a few seconds
def test_report_renders_its_plots_offline(tmp_path: Path) -> None:
    from matplotlib.image import imread

    from tether.monitoring.html import CUR, REF

    report = _report()
    assert report.drifted_columns == ["x", "c"]
    page_path = tmp_path / "report.html"
    report.to_html(page_path)
    args = ARGS + (["--no-sandbox"] if os.geteuid() == 0 else [])
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=args)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri())
            figures = page.locator("figure.plot")
            assert figures.count() == 2
            for i in range(2):
                box = figures.nth(i).locator("svg").bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 100
                assert figures.nth(i).locator("svg rect").count() > 2
            assert page.locator("tr.drift").count() == 2
            shot = page.screenshot(full_page=True)
        finally:
            browser.close()
    assert [u for u in requests if not u.startswith("file://")] == []
    pixels = (imread(io.BytesIO(shot))[:, :, :3] * 255).round().astype(int)
    for color in (REF, CUR):  # both series drawn: pixels of each colour on the page
        assert (np.abs(pixels - _rgb(color)).sum(axis=2) < 8).sum() > 200
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10  # not a blank page


def test_repr_html_is_a_fragment() -> None:
    html = _report()._repr_html_()
    assert html.startswith("<div") and "<svg" in html and "<html" not in html
