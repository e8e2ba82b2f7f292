"""The HTML report in a real browser: headless Chromium loads a page with every figure, its
script reports no error, no text is cut off, and the screenshot shows the figures' colours.

Skipped only where no Chromium (or Chrome) binary exists; CI installs Debian's ``chromium``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from advisor._recommend import recommend
from advisor.records import Advice
from advisor.report import write_html
from advisor.report._plots import BULK, CHOSEN, OUTLIER

BROWSER = next(
    (
        found
        for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
        if (found := shutil.which(name))
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no chromium binary on PATH (apt-get install chromium)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def _chromium(page: Path, profile: Path, *extra: str) -> str:
    done = subprocess.run(
        [BROWSER, *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _near(pixels: np.ndarray, colour: str, tolerance: int = 30) -> int:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels[..., :3].astype(int) - rgb).max(axis=-1) <= tolerance).sum())


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Advice, Path]:
    """A real recommend run (short search) on a target with outliers and hostile names."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 3))
    y = 2.0 * x[:, 0] - x[:, 1] + rng.normal(scale=0.5, size=240)
    y[:8] += 35.0
    frame = pd.DataFrame(x, columns=["<!--<script>", "</script>", "x'\"&"]).assign(y=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        advice = recommend(frame, target="y", budget_s=4.0, trials=4, seed=0)
    path = write_html(advice, tmp_path_factory.mktemp("report") / "report.html")
    return advice, path


def test_the_page_loads_without_script_error_and_cuts_no_text(report, tmp_path) -> None:
    advice, path = report
    dom = _chromium(path, tmp_path / "profile", "--dump-dom")
    html_tag = re.search(r"<html[^>]*>", dom).group(0)
    attributes = dict(re.findall(r'(data-[a-z]+)="([^"]*)"', html_tag))
    assert attributes.get("data-report") == "ok", html_tag  # the embedded JSON parsed, no error
    assert attributes.get("data-figures") == "3"  # target, paired splits, learning curves
    assert attributes.get("data-overflow") == "0"  # no text block wider than its box
    assert all(r.history for r in advice.search.results)  # the curves came from the search


def test_the_screenshot_shows_the_figures(report, tmp_path) -> None:
    _, path = report
    shot = tmp_path / "page.png"
    _chromium(path, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,4000")
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    inked = (pixels.min(axis=-1) < 235).mean()
    assert inked > 0.03, f"only {inked:.1%} of the page is not white"
    colours = len(np.unique(pixels.reshape(-1, 3)[::7], axis=0))
    assert colours > 100, colours
    # each figure's own colour: the histogram's bars, the red outliers, the chosen loss
    assert _near(pixels, BULK) > 2000
    assert _near(pixels, OUTLIER) > 30
    assert _near(pixels, CHOSEN) > 200
