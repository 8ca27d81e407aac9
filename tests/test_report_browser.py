"""The HTML report in a real headless Chromium (Debian package ``chromium``).

Two browser runs per report, both started by the test itself:

* the plain command line ``chromium --headless ... --screenshot=<png> file://<report>``
  takes the screenshot, which must not be blank (pixel spread, several colours);
* a run driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
  messages on file descriptors 3 and 4, no websocket library needed) loads the page and
  records every uncaught exception, console error, log error and network request, then
  reads the DOM after the scripts ran: each map and chart must hold plotly's
  ``.main-svg`` and drawn traces.

Without ``/usr/bin/chromium`` (or ``$CHROMIUM``) the tests skip, and fail under ``CI=true``.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_report import make_result  # the hand-made results (tests/ is on sys.path)

#: each test starts Chromium twice (about 10 s a test)
pytestmark = pytest.mark.slow

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
]


def chromium_binary() -> str:
    """Path of the Chromium binary; skips (or fails under ``CI=true``) when it is missing."""
    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if found:
        return found
    message = "chromium not installed (Debian: apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _high(fd: int) -> int:
    """``fd`` moved to a number >= 10 (so that it never collides with 3 and 4 in the child)."""
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(
        self, binary: str, profile: Path, *, width: int = 1400, height: int = 2000
    ) -> None:
        to_chrome_r, self._to_chrome = (_high(fd) for fd in os.pipe())
        self._from_chrome, from_chrome_w = (_high(fd) for fd in os.pipe())
        args = [
            binary,
            *FLAGS,
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        # the protocol pipe must be fd 3 (commands in) and fd 4 (replies out); bash moves it there
        # (dash reads one-digit descriptors only)
        self.proc = subprocess.Popen(
            [
                "/bin/bash",
                "-c",
                f'exec 3<&{to_chrome_r} 4>&{from_chrome_w} {to_chrome_r}<&- {from_chrome_w}>&-; exec "$@"',
                "bash",
                *args,
            ],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.width, self.height = width, height
        self.events: list[dict] = []
        self._replies: queue.Queue = queue.Queue()
        self._next = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = None

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    self._replies.put(message)
                else:
                    self.events.append(message)

    def call(
        self,
        method: str,
        params: dict | None = None,
        *,
        session: bool = True,
        timeout: float = 30.0,
    ) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._replies.get(timeout=max(deadline - time.monotonic(), 0.01))
            if reply["id"] == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def open(self, url: str, *, timeout: float = 30.0) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}, session=False
        )["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading in {timeout} s")
            time.sleep(0.05)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Uncaught exceptions, console errors/assertions and browser log errors so far."""
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                out.append(
                    f"uncaught: {details.get('exception', {}).get('description') or details.get('text')}"
                )
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(
                    "console."
                    + params["type"]
                    + ": "
                    + " ".join(
                        str(a.get("value", a.get("description", "")))
                        for a in params.get("args", [])
                    )
                )
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        return out

    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        params: dict = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params.update(
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            )
        path.write_bytes(
            base64.b64decode(self.call("Page.captureScreenshot", params, timeout=60)["data"])
        )
        return path

    def screenshot_element(self, selector: str, path: Path) -> Path:
        """A screenshot of the first element matching ``selector`` (scrolled into view if needed)."""
        box = self.evaluate(f"""(function () {{
          var r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();
          return {{x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height}};
        }})()""")
        clip = {**box, "scale": 1}
        data = self.call(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}
        )
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)


#: JavaScript: per figure, whether plotly drew it (svg present, traces drawn)
PROBE = """JSON.stringify(Array.from(document.querySelectorAll('figure.figure')).map(function (f) {
  return {kind: f.className, id: (f.querySelector('.plot') || {}).id,
          plotly: !!f.querySelector('.js-plotly-plot'),
          svgs: f.querySelectorAll('.main-svg').length,
          traces: f.querySelectorAll('.scatterlayer .trace, .barlayer .trace').length,
          paths: f.querySelectorAll('.scatterlayer path.js-line, .scatterlayer path.js-fill, .barlayer path').length,
          share: f.querySelectorAll('.modebar-btn[data-title^="Share"], .modebar-btn[data-title*="Cloud"]').length,
          buttons: f.querySelectorAll('.modebar-btn').length};
}))"""


def load_report(
    binary: str, report: Path, tmp: Path, *, settle_s: float = 20.0
) -> tuple[list[dict], DevTools]:
    """Open ``report``, wait until every figure is drawn (or ``settle_s``), return the probe and the session."""
    tools = DevTools(binary, tmp / "profile-cdp")
    tools.open(report.resolve().as_uri())
    deadline = time.monotonic() + settle_s
    while True:
        figures = json.loads(tools.evaluate(PROBE))
        if (figures and all(f["plotly"] for f in figures)) or time.monotonic() > deadline:
            return figures, tools
        time.sleep(0.2)


def command_line_screenshot(
    binary: str, report: Path, png: Path, profile: Path
) -> subprocess.Popen:
    """Start the plain command-line screenshot (1400 × 2000 px); stderr carries the console log."""
    return subprocess.Popen(
        [
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={png}",
            "--window-size=1400,2000",
            "--virtual-time-budget=10000",
            report.resolve().as_uri(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_not_blank(
    png: Path, *, min_px: int = 500, min_std: float = 20.0, colour: bool = True
) -> None:
    """The image has contrast and colour: pixel std > ``min_std`` (of 255), > 50 distinct colours, some
    non-grey pixels (``colour``; a map where nothing changes may be all grey)."""
    from PIL import Image

    image = np.asarray(Image.open(png).convert("RGB")).astype(float)
    assert image.shape[0] >= min_px and image.shape[1] >= min_px, image.shape
    assert image.std() > min_std, f"{png}: nearly uniform (std {image.std():.1f})"
    rgb = image.reshape(-1, 3).astype(np.int64)
    colours = np.count_nonzero(
        np.bincount((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2], minlength=1 << 24)
    )
    assert colours > 50, f"{png}: only {colours} colours"
    if colour:
        saturated = (image.max(axis=2) - image.min(axis=2)) > 60
        assert saturated.mean() > 0.001, f"{png}: no coloured pixels"


def check_report(
    report: Path,
    tmp: Path,
    *,
    n_maps: int,
    n_charts: int,
    full_page: Path | None = None,
    first_map: Path | None = None,
    command_line: bool = True,
    hover: str | None = None,
) -> tuple[list[dict], dict | None, str]:
    """Load ``report`` in Chromium and assert it renders cleanly.

    Optional screenshots, each checked not to be blank: ``full_page`` (the whole page),
    ``first_map`` (the first map's figure). Returns the per-figure probe, the position
    and text of the not-converged banner (``None`` when the page has none) and the
    tooltip of the first feature of the first map whose id contains ``hover``.
    """
    binary = chromium_binary()
    png = tmp / "screenshot.png"
    cli = (
        command_line_screenshot(binary, report, png, tmp / "profile-cli") if command_line else None
    )
    try:
        figures, tools = load_report(binary, report, tmp)
        try:
            banner = tools.evaluate(BANNER)
            tooltip = (
                hover_text(tools, next(f["id"] for f in figures if hover in f["id"]))
                if hover
                else ""
            )
            errors = tools.errors()
            requests = tools.requests()
            if full_page is not None:
                assert_not_blank(tools.screenshot(full_page, full_page=True))
            if first_map is not None:
                assert_not_blank(tools.screenshot_element("figure.map", first_map), min_px=400)
        finally:
            tools.close()
    finally:
        if cli is not None:
            try:
                _, stderr = cli.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                cli.kill()
                _, stderr = cli.communicate()
    assert errors == [], errors
    # the page itself is the only request: nothing from the network, not even another local file
    assert [u for u in requests if not u.startswith("data:")] == [report.resolve().as_uri()], (
        requests
    )
    maps = [f for f in figures if "map" in f["kind"].split()]
    charts = [f for f in figures if "chart" in f["kind"].split()]
    assert len(maps) == n_maps and len(charts) == n_charts, figures
    for figure in figures:
        assert figure["plotly"] and figure["svgs"] >= 2, (
            figure
        )  # plotly draws a main and an info svg
        assert figure["traces"] >= 1 and figure["paths"] >= 1, figure
        assert figure["buttons"] >= 3 and figure["share"] == 0, (
            figure
        )  # no button that uploads the chart
    if cli is not None:
        assert png.is_file(), f"no screenshot; chromium said:\n{stderr[-3000:]}"
        console = [
            line
            for line in stderr.splitlines()
            if "Uncaught" in line or (":CONSOLE" in line and "rror" in line)
        ]
        assert not console, "\n".join(console)
        assert_not_blank(png)
    return figures, banner, tooltip


def hover_text(tools: DevTools, div_id: str) -> str:
    """Move the mouse onto the first hover point of a map and return the tooltip plotly shows."""
    point = tools.evaluate(f"""(function () {{
      var gd = document.getElementById({json.dumps(div_id)});
      gd.scrollIntoView();
      var k = gd.data.findIndex(function (t) {{ return t.name === 'details'; }});
      var fl = gd._fullLayout, r = gd.getBoundingClientRect();
      return {{x: r.left + fl._size.l + fl.xaxis.l2p(gd.data[k].x[0]),
               y: r.top + fl._size.t + fl.yaxis.l2p(gd.data[k].y[0])}};
    }})()""")
    for dx in (0.0, 1.0):  # plotly hovers on movement
        tools.call(
            "Input.dispatchMouseEvent",
            {"type": "mouseMoved", "x": point["x"] + dx, "y": point["y"]},
        )
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        text = tools.evaluate(
            f"(function () {{ var h = document.getElementById({json.dumps(div_id)})"
            ".querySelector('.hoverlayer .hovertext'); return h ? h.textContent : ''; })()"
        )
        if text:
            return text
        time.sleep(0.1)
    return ""


#: JavaScript: the not-converged banner's position and text (null when absent)
BANNER = """(function () {
  var b = document.getElementById('not-converged');
  if (!b) { return null; }
  var r = b.getBoundingClientRect();
  return {text: b.innerText, top: r.top, height: r.height};
})()"""


# ---------------------------------------------------------------------------- tests
def test_report_renders_in_chromium(tmp_path):
    """Hand-made results (one run not converged): no console error, no request, maps drawn, banner on top."""
    from transitopt.report import write_report

    base = make_result("base", seed=0)
    alt = make_result(
        "alt", seed=1, flow_scale=1.3, load_scale=2.0, access_gain=400.0, converged=False
    )
    report = write_report(base, [alt], tmp_path / "report.html")
    # maps: baseline v/c + line loads; alternative flow change, v/c, line loads, access change, winners/losers
    # charts: change, mode shares, v/c distribution, load profiles, convergence
    figures, banner, tooltip = check_report(
        report, tmp_path, n_maps=7, n_charts=5, hover="flow-change"
    )
    flow_change = next(f for f in figures if "flow-change" in f["id"])
    assert flow_change["paths"] >= 3  # context streets, a class of change, the hover points
    assert banner is not None and banner["height"] > 0 and banner["top"] < 400  # above the fold
    assert (
        "1 of 2 runs did NOT converge" in banner["text"]
        and "alt did not converge" in banner["text"]
    )
    # a real mouse move over the first street shows its tooltip: 1.3 × (100 + 110) veh/h
    assert tooltip == "Street w10001001cars 210 → 273 veh/hchange +63 veh/h", tooltip


def test_helsinki_report_renders_in_chromium(tmp_path):
    """The report of the real example (central Helsinki, baseline and bus lanes) in the browser."""
    from transitopt.report import write_maps, write_report
    from transitopt.scenario import compare, evaluate_file

    scenarios = Path(__file__).resolve().parents[1] / "scenarios"
    base = evaluate_file(scenarios / "helsinki_base.toml")
    alt = evaluate_file(scenarios / "helsinki_bus_lane.toml")
    report = write_report(base, [alt], tmp_path / "report.html")
    page = report.read_text(encoding="utf-8")
    # the headline numbers are compare()'s: the change of car delay, formatted as the page does
    delta = compare(base, alt).set_index("metric").loc["car_delay_veh_h", f"{alt.name} Δ"]
    row = re.search(r"<tr><td title='car_delay_veh_h'>.*?</tr>", page).group(0)
    assert f"{'+' if delta > 0 else '−'}{abs(delta):.1f}" in row or f"{abs(delta):,.0f}" in row
    assert ("id='all-converged'" in page) == (base.converged and alt.converged)
    figures, _, tooltip = check_report(
        report,
        tmp_path,
        n_maps=7,
        n_charts=5,
        first_map=tmp_path / "map.png",
        command_line=False,
        hover="voc",
    )
    assert "v/c" in tooltip and "capacity" in tooltip, tooltip
    pngs = write_maps(base, [alt], tmp_path / "png", dpi=50)
    assert len(pngs) == 7
    for png in pngs:
        # thin streets on white: less spread than the page, still far from blank (a white PNG has std 0)
        assert_not_blank(
            png,
            min_px=300,
            min_std=8.0,
            colour="winners" not in png.name and "access" not in png.name,
        )
