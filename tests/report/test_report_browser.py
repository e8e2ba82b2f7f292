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
from advisor.report._plots import BULK, CHOSEN, OUTLIER, PALETTE, SHADE

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
# a name that would end the page's script block, and too long for any box unless it wraps
TARGET = "</script><!--" + "t" * 400
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
    """How many pixels are within ``tolerance`` of ``colour`` in each channel."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return int((np.abs(pixels - rgb).max(axis=-1) <= tolerance).sum())


def _attributes(dom: str) -> dict[str, str]:
    """What the page's own script recorded on ``<html>`` once it had loaded."""
    return dict(re.findall(r'(data-[a-z]+)="([^"]*)"', re.search(r"<html[^>]*>", dom).group(0)))


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> tuple[Advice, dict[str, str], Path]:
    """A real recommend run (short search) on a target with outliers and hostile names,
    loaded once in Chromium: the DOM after load and a screenshot from the same run."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 3))
    y = 2.0 * x[:, 0] - x[:, 1] + rng.normal(scale=0.5, size=240)
    y[:8] += 35.0
    frame = pd.DataFrame(x, columns=["<!--<script>", "</script>", "x'\"&"])
    frame[TARGET] = y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the work is bounded by trials=4 and the race; a 4 s cap cut the runs (and the
        # learning curves the figures draw) short on a loaded machine
        advice = recommend(frame, target=TARGET, budget_s=30.0, trials=4, seed=0)
    folder = tmp_path_factory.mktemp("report")
    path, shot = write_html(advice, folder / "report.html"), folder / "page.png"
    dom = _chromium(
        path, folder / "profile", "--dump-dom", f"--screenshot={shot}", "--window-size=1280,5000"
    )
    return advice, _attributes(dom), shot


def test_the_page_loads_without_script_error_and_cuts_no_text(loaded) -> None:
    advice, attributes, _ = loaded
    assert attributes.get("data-report") == "ok", attributes  # the JSON parsed, no error
    assert attributes.get("data-figures") == "3"  # target, paired splits, learning curves
    assert attributes.get("data-overflow") == "0"  # no text block wider than its box
    assert all(r.history for r in advice.search.results)  # the curves came from the search


def test_a_classification_page_draws_its_balance(tmp_path) -> None:
    labels = ["<b>" + "c" * 300, "</script>", "[red]x", "\u202eevil"]
    frame = pd.DataFrame({"y": labels * 20 + labels[:2] * 30, "x": range(140)})
    path = write_html(recommend(frame, target="y", search=False), tmp_path / "classes.html")
    attributes = _attributes(_chromium(path, tmp_path / "profile", "--dump-dom"))
    assert attributes == {"data-report": "ok", "data-figures": "1", "data-overflow": "0"}


def test_the_screenshot_shows_the_figures(loaded) -> None:
    _, _, shot = loaded
    # every other row and column: a quarter of the pixels, enough for figures of this size
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)[::2, ::2]
    inked = (pixels.min(axis=-1) < 235).mean()
    assert inked > 0.03, f"only {inked:.1%} of the page is not white"
    wide = pixels.astype(np.int32)
    packed = (wide[..., 0] << 16) | (wide[..., 1] << 8) | wide[..., 2]
    colours = len(np.unique(packed))
    assert colours > 100, colours
    # each figure's own colours, none of which the page's text and tables use (with the
    # figures cut out of such a page, the four counts at full size measured 0, 0, 25 and 0,
    # with them 58,764, 292, 52,510 and 579, four times what these thresholds see): the
    # histogram's bars, the red outliers, the paired figure's shaded column of the chosen
    # loss, the learning curve of the first other finalist
    shade = "#" + "".join(
        f"{round(255 - SHADE * (255 - int(CHOSEN[i : i + 2], 16))):02x}" for i in (1, 3, 5)
    )
    assert _near(pixels, BULK) > 2_500
    assert _near(pixels, OUTLIER) > 25
    assert _near(pixels, shade, tolerance=3) > 2_500
    assert _near(pixels, PALETTE[1]) > 50
