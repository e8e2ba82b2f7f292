"""Make docs/report.png: the HTML report of a bundled example, as headless Chromium shows it.

Run from the repository root (needs ``chromium`` on PATH; a few dozen seconds):

    python docs/report_screenshot.py

It runs ``lossadvisor recommend examples/diabetes.csv --budget 20 --seed 0 --report ...``,
takes a screenshot of the page 1100 pixels wide down to the end of the learning curves (the
answer, the target's histogram, the paired splits, the curves), scales it to 70% and saves it
with a 256-colour palette, small enough for the README.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "report.png"
WIDTH, HEIGHT = 1100, 3900  # the page down to the end of the learning curves
SCALE = 0.7


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("google-chrome")
    if browser is None:
        sys.exit("chromium not found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as folder:
        page, shot = Path(folder) / "report.html", Path(folder) / "report.png"
        subprocess.run(
            [sys.executable, "-m", "advisor", "recommend", str(ROOT / "examples" / "diabetes.csv"),
             "--budget", "20", "--seed", "0", "--report", str(page), "--quiet"],
            check=True,
        )  # fmt: skip
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={folder}/profile",
             f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", page.as_uri()],
            check=True,
            capture_output=True,
        )  # fmt: skip
        image = Image.open(shot).convert("RGB")
        size = (round(image.width * SCALE), round(image.height * SCALE))
        image = image.resize(size, Image.Resampling.LANCZOS)
        image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(OUT, optimize=True)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
