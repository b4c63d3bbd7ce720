"""The HTML report of qntk diagnose: self-contained (nothing fetched), and rendered by a real headless browser
(Chromium; CI installs it and sets QNTK_REQUIRE_BROWSER=1 so that a missing browser fails instead of skipping)."""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from qntk.experiments import diagnose, diagnose_report
from qntk.models import Model

MODEL = Model("reuploading", 2, 2, "ZI", data="tfim:points=6,h_min=-2,h_max=2", options={"encoding_scale": 0.5})


@pytest.fixture(scope="module")
def page():
    r = diagnose.run(diagnose.DiagnoseConfig(MODEL, samples=6, trial_samples=3, trial_steps=2, steps=10, train=True))
    return diagnose_report.html(r)


def test_report_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"<script|<link|@import|url\(|src=\"(?!data:image/png;base64,)", page)
    assert page.count('src="data:image/png;base64,') == 3  # spectrum, predictions, trained vs predicted
    for words in ("lambda_min", "Laziness check", "Verdict", "training above eta_crit fails", "Scala, Zoufal"):
        assert words in page


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("QNTK_REQUIRE_BROWSER"):
        pytest.fail("no headless browser (chromium) found, and QNTK_REQUIRE_BROWSER is set")
    pytest.skip("no headless browser (chromium): apt-get install chromium")


def test_report_renders_in_a_headless_browser(page, tmp_path):
    """Chromium, without network, draws the page: the screenshot holds the plots' blue (matplotlib C0) pixels,
    which only decoded images can put there, and the DOM has the tables' text."""
    import matplotlib.image

    path, shot = tmp_path / "report.html", tmp_path / "shot.png"
    path.write_text(page)
    args = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--proxy-server=127.0.0.1:9", "--user-data-dir=" + str(tmp_path / "profile")]
    subprocess.run(args + [f"--screenshot={shot}", "--window-size=1000,3000", path.as_uri()],
                   capture_output=True, timeout=120, check=True)
    image = matplotlib.image.imread(shot)[..., :3]
    blue = np.all(np.abs(image - np.array([31, 119, 180]) / 255) < 0.06, axis=-1)
    assert blue.sum() > 200, "no plot drawn"
    dom = subprocess.run(args + ["--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    assert "Laziness check" in dom.stdout and dom.stdout.count("<img") == 3
