"""A real browser opens report.html offline: every section renders, the page is not blank, it prints,
and a Japanese report shows its Japanese on a machine without any Japanese font.

Skipped only where no Chromium is installed (`.ci/run` installs Debian's `chromium` when missing).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from cli_helpers import write_config, write_csv

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync")
MANAGER = ("summary", "chart", "parameters", "quality")
APPENDIX = ("data", "model", "gradient-check", "correlations", "plots", "graph", "reproducibility")
PICTURES = ("fit", "convergence", "residuals", "trajectories", "graph")


def browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


pytestmark = pytest.mark.skipif(browser() is None, reason="no Chromium installed")


def _fit_report(folder, language: str):
    from workbench.config import load_config
    from workbench.pipeline.fit import resolve_out_dir, run_fit

    rng = np.random.default_rng(1)
    x = np.linspace(0, 8, 30)
    write_csv(folder, "decay.csv", "x,y", zip(x.round(4), (3.2 * np.exp(-0.45 * x) + 0.8 +
                                                         rng.normal(0, 0.02, x.size)).round(5)))
    config = load_config(write_config(folder, f"""
        name: decay
        data: {{path: decay.csv}}
        model: {{formula: "y ~ a * exp(-b * x) + c"}}
        params: {{a: 1.0, b: {{init: 0.1, min: 0}}, c: 0.0}}
        report: {{language: {language}}}
        output: {{dir: out, formats: [html], plots: false}}
    """))
    outcome = run_fit(config, resolve_out_dir(config, None))
    return outcome.out_dir / "report.html"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return _fit_report(tmp_path_factory.mktemp("browser"), "en")


@pytest.fixture(scope="module")
def japanese_report(tmp_path_factory):
    return _fit_report(tmp_path_factory.mktemp("browser-ja"), "ja")


def run_browser(profile, *args: str) -> subprocess.CompletedProcess:
    """One headless run with a fresh profile folder (no state shared between runs)."""
    return subprocess.run([browser(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120)


def test_rendered_dom_holds_every_section_manager_part_first(report, tmp_path):
    from workbench.report.i18n import translator

    proc = run_browser(tmp_path / "profile", "--dump-dom", report.as_uri())
    dom = proc.stdout
    assert proc.returncode == 0 and "<body" in dom, proc.stderr[-2000:]
    places = [dom.find(f'<section id="{key}"') for key in MANAGER + APPENDIX]
    assert -1 not in places and places == sorted(places), dict(zip(MANAGER + APPENDIX, places))
    assert places[len(MANAGER) - 1] < dom.index('id="appendix"') < places[len(MANAGER)]
    tr = translator("en")
    assert tr("quality.r2", share="", target="y").split(" ")[:3] == ["The", "model", "explains"]
    assert "The model explains" in dom and tr("gradients.verified") in dom
    assert dom.count('src="data:image/png;base64,') == len(PICTURES)
    assert all(f'id="plot-{key}"' in dom for key in PICTURES)


def test_screenshot_is_not_blank(report, tmp_path):
    import matplotlib.image as mpimg

    shot = tmp_path / "report.png"
    proc = run_browser(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,1800",
                       "--hide-scrollbars", report.as_uri())
    assert shot.exists(), proc.stderr[-2000:]
    pixels = mpimg.imread(str(shot))[:, :, :3]
    assert pixels.shape[:2] == (1800, 1200)
    ink = np.mean(pixels.sum(axis=2) < 2.4)          # share of pixels that are not (near) white
    assert 0.02 < ink < 0.6, ink
    accent = np.mean((pixels[:, :, 2] > 0.5) & (pixels[:, :, 0] < 0.3))     # the blue headings and bars
    assert accent > 0.001, accent


def test_prints_to_pdf_as_a_manager_would(report, tmp_path):
    from pypdf import PdfReader

    printed = tmp_path / "printed.pdf"
    proc = run_browser(tmp_path / "profile", f"--print-to-pdf={printed}", "--no-pdf-header-footer",
                       report.as_uri())
    assert printed.exists() and printed.stat().st_size > 10_000, proc.stderr[-2000:]
    reader = PdfReader(str(printed))
    assert 2 <= len(reader.pages) <= 12
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)         # A4 in points, from the stylesheet's @page
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Fit report: decay" in text and "Reproducibility" in text


def test_a_japanese_report_prints_its_japanese_in_the_font_it_carries(japanese_report, tmp_path):
    """This machine has no Japanese font: what the browser prints in Japanese comes from the page."""
    from pypdf import PdfReader

    from workbench.report.i18n import translator

    printed = tmp_path / "printed.pdf"
    proc = run_browser(tmp_path / "profile", f"--print-to-pdf={printed}", "--no-pdf-header-footer",
                       "--virtual-time-budget=5000", japanese_report.as_uri())
    assert printed.exists(), proc.stderr[-2000:]
    reader = PdfReader(str(printed))
    text = "".join(page.extract_text() for page in reader.pages).replace(" ", "").replace("\n", "")
    assert "\x00" not in text                   # a character drawn as an empty box extracts as NUL
    tr = translator("ja")
    for words in (tr("report.title", name="decay"), tr("section.summary"), tr("col.value"), tr("appendix.title")):
        assert words.replace(" ", "") in text, words
