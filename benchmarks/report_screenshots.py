"""Screenshots of the planning report and its figures for docs/closing_note_17/ (issue 17).

    python benchmarks/report_screenshots.py [--draws 300] [--out docs/closing_note_17]

1. ``bayeslaws demo --html`` on the bundled SIMULATED sweep (2 chains x draws warm-up + draws):
   writes ``demo_report.txt`` (the text report), copies the figures, and screenshots the HTML
   page in headless Chromium (one PNG per report section, ``report_*.png``).
2. Epoch AI's raw Chinchilla table through the CLI (skipped when ../shared/data is absent): its
   own column names mapped with ``--column`` and the 5 highest-loss rows excluded with
   ``--exclude-rows``/``--exclude-reason``, then ``bayeslaws report``; writes ``epoch_cli.txt``
   (the commands, and the fit against Epoch's published values) and ``epoch_report*.png``.

Needs Chromium, chromedriver and selenium (``apt-get install chromium chromium-driver``,
``pip install selenium``). Prints the wall time of each step (measured under whatever load the
machine has; ``uptime`` is printed too).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, when imported
from bench_provenance import header  # noqa: E402  (benchmarks/bench_provenance.py)

ROOT = Path(__file__).resolve().parents[1]


def browser(width: int = 1200):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--window-size={width},1000",
                f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def screenshot_sections(driver, html: Path, out: Path, prefix: str) -> list[Path]:
    """One PNG per <section> of the page (and the header), full height."""
    driver.get(html.resolve().as_uri())
    height = driver.execute_script("return document.body.scrollHeight")
    nav = driver.find_element("tag name", "nav")
    top = out / f"{prefix}_00_top.png"
    driver.set_window_size(1200, nav.location["y"] + nav.size["height"] + 160)
    driver.save_screenshot(str(top))
    paths = [top]
    driver.set_window_size(1200, min(max(height, 1000), 30000))
    for i, section in enumerate(driver.find_elements("tag name", "section"), start=1):
        title = section.find_element("tag name", "h2").text
        slug = "".join(ch if ch.isalnum() else "_" for ch in title.lower())[:40].strip("_")
        path = out / f"{prefix}_{i:02d}_{slug}.png"
        section.screenshot(str(path))
        paths.append(path)
    return paths


def run_demo(out: Path, draws: int, first: str) -> Path:
    from bayeslaws.app.demo import run_demo as demo

    work = Path(tempfile.mkdtemp(prefix="demo17_"))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = demo(work, chains=2, warmup=draws, draws=draws, html=True, quiet=True)
    print(f"demo (2 chains x {draws} + {draws}): {time.perf_counter() - t0:.0f} s")
    (out / "demo_report.txt").write_text(
        f"{first}\n# bayeslaws demo --html --chains 2 --warmup {draws} --draws {draws} "
        "(written by benchmarks/report_screenshots.py)\n" + text
    )
    for figure in sorted(work.glob("*.png")):  # whatever figures the demo's route draws
        shutil.copy(figure, out / f"figure_{figure.name}")
    return work / "report.html"


def run_epoch(out: Path, draws: int, first: str) -> Path | None:
    from bayeslaws.runs import bundled, published

    try:
        csv = bundled.shared_data_dir() / "epoch_chinchilla" / "svg_extracted_data.csv"
    except bundled.SharedDataMissing as err:
        print(f"Epoch: skipped ({err})")
        return None
    raw = pd.read_csv(csv)
    worst = raw.index[raw["loss"].rank(ascending=False, method="first") <= 5]
    work = Path(tempfile.mkdtemp(prefix="epoch17_"))
    fit_nc, html = work / "epoch.nc", work / "epoch_report.html"
    fit_cmd = [
        "bayeslaws", "fit", str(csv), "--law", "chinchilla", "--likelihood", "huber",
        "--column", "N=Model Size", "--column", "C=Training FLOP", "--column", "loss=loss",
        "--exclude-rows", *map(str, worst),
        "--exclude-reason", "the 5 highest-loss points (as Epoch AI)",
        "--chains", "2", "--warmup", str(draws), "--draws", str(draws), "--no-discrepancy",
        "--out", str(fit_nc),
    ]
    known = [f"{k}={v[0]}" for k, v in published.EPOCH_CHINCHILLA.items()]
    report_cmd = ["bayeslaws", "report", str(fit_nc), "--C", str(published.CHINCHILLA_BUDGET),
                  "--known", *known, "--known-label", "Epoch AI (Besiroglu et al. 2024)",
                  "--out", str(html)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    t0 = time.perf_counter()
    fit_out = subprocess.run(fit_cmd, capture_output=True, text=True, env=env, check=True)
    print(f"Epoch fit through the CLI (2 chains x {draws} + {draws}): "
          f"{time.perf_counter() - t0:.0f} s")
    subprocess.run(report_cmd, capture_output=True, text=True, env=env, check=True)
    import bayeslaws as bl

    fit = bl.load_fit(fit_nc)
    s = fit.summary(ci=0.95)
    rows = []
    for name, (value, low, high) in published.EPOCH_CHINCHILLA.items():
        r = s.loc[name]
        rows.append({
            "parameter": name, "median": r["50%"], "lower (2.5%)": r["2.5%"],
            "upper (97.5%)": r["97.5%"], "Epoch": value, "Epoch 95% low": low,
            "Epoch 95% high": high,
            "Epoch's value in our 95% interval": r["2.5%"] <= value <= r["97.5%"],
            "our median in Epoch's interval": low <= r["50%"] <= high,
        })
    table = pd.DataFrame(rows)
    shown = [shlex.quote(a) for a in fit_cmd]
    shown[2] = "../shared/data/epoch_chinchilla/svg_extracted_data.csv"
    shown[-1], report_shown = "epoch.nc", [shlex.quote(a) for a in report_cmd]
    report_shown[2], report_shown[-1] = "epoch.nc", "epoch_report.html"
    (out / "epoch_cli.txt").write_text(
        f"{first}\n"
        "# Epoch AI's raw table through the CLI (written by benchmarks/report_screenshots.py)\n"
        "$ " + " ".join(shown) + "\n$ " + " ".join(report_shown) + "\n\n"
        + "fit.record.data: " + str(fit.record.data) + "\n\n"
        + "posterior (95% central intervals) against Epoch's published refit "
        "(bayeslaws.runs.published.EPOCH_CHINCHILLA, 95% bootstrap):\n"
        + table.to_string(index=False, float_format="{:.4g}".format) + "\n\n"
        + fit_out.stdout
    )
    return html


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=300, help="warm-up and draws per chain")
    parser.add_argument("--out", default=str(ROOT / "docs" / "closing_note_17"))
    parser.add_argument("--only", choices=["demo", "epoch"], default=None)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    first = header("benchmarks/report_screenshots.py", argv)  # each text file's first line
    demo_html = run_demo(out, args.draws, first) if args.only in (None, "demo") else None
    epoch_html = run_epoch(out, args.draws, first) if args.only in (None, "epoch") else None
    driver = browser()
    shots = []
    try:
        if demo_html is not None:
            shots += screenshot_sections(driver, demo_html, out, "report")
        if epoch_html is not None:
            shots += screenshot_sections(driver, epoch_html, out, "epoch_report")
    finally:
        driver.quit()
    for p in shots:
        print(f"wrote {p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
