"""The HTML report as a browser draws it: headless Chromium runs the page's
JavaScript and dumps the DOM, and every plot must have drawn data (line
paths with points, markers or bars, or a heatmap image). Skips when no
Chromium is installed (`apt-get install chromium`; `.ci/run` does)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import plotly.graph_objects as go
import pytest

from cfx.report import page

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
BROWSER = next((b for b in BROWSERS if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no headless Chromium on this machine (apt-get install chromium) to render the report in"
)


LEAVES = ("path", "image", "img", "br", "rect", "circle", "line", "use")  # elements counted, never parents


class PlotContents(HTMLParser):
    """Per ``<div class="plot">``: how many drawn data elements it holds (a
    line path through two points or more, a marker or bar, a heatmap image)."""

    def __init__(self) -> None:
        super().__init__()
        self.plots: dict[str, int] = {}
        self._stack: list[tuple[str | None, list[str]]] = []  # (plot id, classes) of each open element

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        plot, parent = self._stack[-1] if self._stack else (None, [])
        if tag == "div" and "plot" in cls and a.get("id", "").startswith("plot-"):
            plot = a["id"][len("plot-") :]
            self.plots.setdefault(plot, 0)
        if tag not in LEAVES:
            self._stack.append((plot, cls))
        if plot is None:
            return
        d = a.get("d") or ""
        line = "js-line" in cls and len(re.findall(r"[LHVC]", d)) >= 1  # from one point to another at least
        point = tag == "path" and ("point" in cls or "point" in parent) and len(d) > 2  # a marker or a bar
        heat = tag == "image" and (a.get("href") or a.get("xlink:href") or "").startswith("data:image")
        self.plots[plot] += line or point or heat

    def handle_endtag(self, tag: str) -> None:
        if tag not in LEAVES and self._stack:
            self._stack.pop()


def rendered(html_file: Path) -> dict[str, int]:
    """The page's plots after Chromium has run its scripts, with their drawn data elements."""
    out = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1400,2000",
            "--virtual-time-budget=10000",
            "--dump-dom",
            html_file.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout
    parser = PlotContents()
    parser.feed(out)
    assert "main-svg" in out, "plotly did not draw anything: no <svg class=main-svg> in the DOM"
    return parser.plots


def test_every_plot_of_the_report_and_compare_page_draws_data(runs):
    from cfx import report

    path = report.write_report(runs["a"])
    html_text = path.read_text()
    expected = set(re.findall(r'<div class="plot" id="plot-([a-z]+)">', html_text))
    assert {
        "prices",
        "intraday",
        "liquidity",
        "daily",
        "matrix",
        "inventory",
        "basis",
        "rejects",
        "heatmap",
    } <= expected
    plots = rendered(path)
    assert set(plots) == expected
    empty = sorted(p for p, n in plots.items() if n == 0)
    assert not empty, f"plots drawn without data: {empty}"
    cmp = report.write_compare(runs["a"], runs["b"], runs["tmp"] / "compare_browser.html")
    plots = rendered(cmp)
    assert {"prices", "index", "pnl", "margin"} <= set(plots)
    assert not [p for p, n in plots.items() if n == 0]


def test_the_check_catches_a_plot_without_data(tmp_path):
    fig = go.Figure(go.Scatter(x=[], y=[], mode="lines"))
    full = go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2], mode="lines"))
    f = tmp_path / "p.html"
    f.write_text(
        page.page("t", "", [page.section("nodata", "no data", fig, ""), page.section("full", "data", full, "")])
    )
    plots = rendered(f)
    assert plots["nodata"] == 0 and plots["full"] >= 1
