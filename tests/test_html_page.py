"""The HTML leaderboard page in a real browser: headless Chromium renders the table, sorts it on
header clicks (numerically on the mean of "mean ± std" cells, missing values last), and runs no
script smuggled in through a model name, a source or a note."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from recbench.config import sweep_from_mapping
from recbench.results.leaderboard import render
from recbench.results.record import RunRecord

HOSTILE = "<script>alert(1)</script>&\"'"
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
                 if p and Path(p).is_file()), None)

# Test-only hooks, added around the generated page by this test (the page itself has none):
# before the page's scripts, record any alert(); after them, click headers and record the row orders.
_BEFORE = "<script>window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };</script>"
_AFTER = """<script>
(function () {
  function order() {
    return Array.prototype.map.call(document.querySelectorAll("table.leaderboard tbody tr"),
                                    function (r) { return r.cells[1].textContent; });
  }
  function click(name) {
    var th = Array.prototype.find.call(document.querySelectorAll("table.leaderboard th"),
                                       function (h) { return h.textContent === name; });
    th.click();
    return th.getAttribute("aria-sort");
  }
  var out = {initial: order(), scripts: document.scripts.length,
             headers: document.querySelectorAll("table.leaderboard th").length,
             strong: Array.prototype.map.call(document.querySelectorAll("table.leaderboard strong"),
                                              function (s) { return s.textContent; })};
  out.metric_first = click("ndcg@10"); out.metric_desc = order();
  out.metric_second = click("ndcg@10"); out.metric_asc = order();
  click("train ex/s (cpu)"); out.speed_desc = order();
  out.model_first = click("model"); out.model_asc = order();
  out.alerts = window.__alerts;
  var pre = document.createElement("pre");
  pre.id = "test-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def _record(model: str, seed: int, ndcg: float, speed: float, status: str = "ok") -> RunRecord:
    return RunRecord(
        run_key=f"{model}-{seed}", status=status, seed=seed, message="" if status == "ok" else "boom",
        dataset={"name": "synthetic", "fingerprint": "f"},
        split={"protocol": "random_holdout", "protocol_version": "1", "params": {}, "split_id": f"s{seed}"},
        model={"name": model}, metrics={"ndcg@10": ndcg} if status == "ok" else {},
        evaluation={"protocol": "full_ranking"}, throughput={"train_examples_per_s": speed},
        environment={"device_kind": "cpu"},
    )


def _page() -> str:
    # ndcg@10 means 0.9, 0.25, 0.1, missing (d failed a seed) and the published 0.5. Throughput is
    # chosen so that sorting its text would be wrong: "50" > "44,127,414" > "397" > "1,607,799" as
    # strings, but 44,127,414 > 1,607,799 > 397 > 50 as numbers.
    records = [
        _record(HOSTILE, 0, 0.85, 397.0), _record(HOSTILE, 1, 0.95, 397.0),
        _record("b", 0, 0.05, 44_127_414.0), _record("b", 1, 0.15, 44_127_414.0),
        _record("c", 0, 0.20, 1_607_799.0), _record("c", 1, 0.30, 1_607_799.0),
        _record("d", 0, 0.99, 50.0), _record("d", 1, 0.0, 50.0, status="error"),  # incomplete: missing
    ]
    sweep = sweep_from_mapping({"name": "t", "metrics": ["ndcg@10"], "datasets": ["synthetic"], "models": ["b"],
                                "published": [{"model": "P", "source": "<img src=x onerror=alert(2)>",
                                               "metrics": {"ndcg@10": 0.5}, "note": "<script>alert(3)</script>"}]})
    return render(records, ["ndcg@10"], "html", published=sweep.published, title=HOSTILE)


def _run_in_chromium(page: str, tmp_path: Path) -> dict:
    path = tmp_path / "page.html"
    path.write_text(page.replace("<head>", "<head>" + _BEFORE, 1).replace("</html>", _AFTER + "</html>"))
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r'<pre id="test-result">(.*?)</pre>', done.stdout, re.S)
    assert match, f"chromium exited {done.returncode} without the page's DOM: {done.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium), "
                                             "so the HTML page is not opened in a browser here")
def test_page_renders_sorts_numerically_with_missing_last_and_runs_no_injected_script(tmp_path: Path) -> None:
    out = _run_in_chromium(_page(), tmp_path)
    published = "published: P [1]"
    assert out["alerts"] == [] and out["scripts"] == 3  # the page's sorter and this test's two hooks
    assert out["headers"] == 12 and out["initial"] == [HOSTILE, "c", "b", "d", published]
    assert out["strong"] == ["0.9000 ± 0.0707"]  # ours only: the published row is never bold
    assert out["metric_first"] == "descending" and out["metric_desc"] == [HOSTILE, published, "c", "b", "d"]
    assert out["metric_second"] == "ascending" and out["metric_asc"] == ["b", "c", published, HOSTILE, "d"]
    assert out["speed_desc"] == ["b", "c", HOSTILE, "d", published]  # numbers, not strings; missing last
    assert out["model_first"] == "ascending"
    letters = [name for name in out["model_asc"] if name in ("b", "c", "d", published)]
    assert letters == ["b", "c", "d", published]
