"""attendbot's speed and memory targets, measured side by side (the test suite has no timed tests).

Run:  .venv/bin/python bench/run.py [--quick] [--rounds N] [--only large,backfill,engine] [--record]

Every measurement runs in a child process of this one, so all of them share one process tree and
whatever load the machine is under, and the rounds interleave them (round 1 runs each once, then
round 2, ...). The figure printed is the median over the rounds: wall time, CPU time (user + system
of the child and every process it waited for, from ``wait4``) and peak RSS (the largest of the child
and its children: a run reads each file in a forked child).

large     The large day (bench/largeday.py: 60 sign-in pages in six PDFs, about 640 charges, about
          3,600 EHR rows), each round on a fresh copy:
            pdfplumber   bare pdfplumber parse of the six PDFs (bench/bare.py), in a fresh interpreter
            pypdfium2    bare pypdfium2 read of the same PDFs
            first run    `attendbot run --date D --dry-run` on an empty ledger
            re-run       the same command again, nothing changed
            in process   run_day() first run and re-run in one warm process (what `serve` and each
                         Slack answer pay; the command's own start-up is not part of it)
          targets: first run / pdfplumber <= 1.0 (goal 0.5); re-run / first run <= 0.05 (in process);
          peak RSS of the first run <= 300 MB.
backfill  bench/backfill.py: `run --from --to` over 60 business days on all cores and on one;
          target: speed-up >= 1.7 on 2 cores.
engine    bench/engine.py: reconcile() of 100,000 and 1,000,000 charges; targets: time ratio <= 11,
          peak RSS of the 1M run <= 2 GB.

Exit status 1 when a target is missed. --quick: small sizes and 2 rounds (a smoke run whose figures
are not comparable with the targets). --record adds the figures to bench/RESULTS.md, newest first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import largeday  # noqa: E402

ROWS: list[tuple[str, str, str, bool | None]] = []  # what, measured, target, met (None: no target)


def record(what: str, measured: str, target: str = "-", met: bool | None = None) -> None:
    ROWS.append((what, measured, target, met))
    print(f"  {what:<46} {measured:>24}  {target:<16} {'-' if met is None else 'ok' if met else 'MISSED'}",
          flush=True)


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mb: float


def child(argv: list[str], cwd: Path) -> Sample:
    """Run ``argv`` to its end; its wall and CPU time and peak RSS, its children's included."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err[-2000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def median(samples: list[Sample], what: str) -> float:
    return statistics.median(getattr(s, what) for s in samples)


def show(name: str, samples: list[Sample]) -> None:
    walls = [s.wall for s in samples]
    record(name, f"{median(samples, 'wall'):.2f} s ({min(walls):.2f}-{max(walls):.2f})")
    record(f"{name}, CPU", f"{median(samples, 'cpu'):.2f} s")


def ratio(what: str, a: list[Sample], b: list[Sample], target: float | None = None, goal: str = "") -> None:
    wall, cpu = median(a, "wall") / median(b, "wall"), median(a, "cpu") / median(b, "cpu")
    label = f"<= {target:g}{goal}" if target is not None else "-"
    record(what, f"{wall:.3f} wall, {cpu:.3f} CPU", label, None if target is None else wall <= target)


def bench_large(tmp: Path, rounds: int, groups: int) -> None:
    template = tmp / "large-template"
    largeday.write_large_day(template, groups=groups)
    pdfs = [str(p) for p in largeday.sign_in_pdfs(template)]
    python = sys.executable
    day = largeday.DAY.isoformat()
    run = [python, "-m", "attendbot", "run", "--date", day, "--dry-run"]
    samples: dict[str, list[Sample]] = {k: [] for k in ("plumber", "pdfium", "first", "rerun", "in_first",
                                                          "in_rerun")}
    for n in range(rounds):
        folder = tmp / f"large-{n}"
        shutil.copytree(template, folder)
        samples["plumber"].append(child([python, str(HERE / "bare.py"), "plumber", *pdfs], tmp))
        samples["pdfium"].append(child([python, str(HERE / "bare.py"), "pdfium", *pdfs], tmp))
        _settle(folder)
        samples["first"].append(child(run, folder))
        samples["rerun"].append(child(run, folder))
        shutil.rmtree(folder / "var")
        shutil.rmtree(folder / "audit")
        in_process = child([python, str(HERE / "run.py"), "--in-process", str(folder)], tmp)
        first, again = (float(x) for x in (folder / "in-process.txt").read_text().split())
        samples["in_first"].append(Sample(first, 0.0, in_process.rss_mb))
        samples["in_rerun"].append(Sample(again, 0.0, 0.0))
        shutil.rmtree(folder)
    pages = groups
    charges = sum(1 for _ in open(template / "inbox" / "charges.csv", encoding="utf-8-sig")) - 1
    print(f"  large day: {pages} sign-in pages in {len(pdfs)} PDFs, {charges} charges; {rounds} rounds")
    show("bare pdfplumber parse", samples["plumber"])
    show("bare pypdfium2 read", samples["pdfium"])
    show("attendbot run, first run", samples["first"])
    show("attendbot run, re-run", samples["rerun"])
    record("run_day in process, first run", f"{median(samples['in_first'], 'wall'):.2f} s")
    record("run_day in process, re-run", f"{median(samples['in_rerun'], 'wall') * 1000:.0f} ms")
    ratio("first run / bare pdfplumber", samples["first"], samples["plumber"], 1.0, " (goal 0.5)")
    ratio("first run / bare pypdfium2", samples["first"], samples["pdfium"])
    rerun_ratio = median(samples["in_rerun"], "wall") / median(samples["in_first"], "wall")
    record("re-run / first run, in process", f"{rerun_ratio:.3f} wall", "<= 0.05", rerun_ratio <= 0.05)
    cli = median(samples["rerun"], "wall") / median(samples["first"], "wall")
    record("re-run / first run, the command", f"{cli:.3f} wall")
    rss = max(s.rss_mb for s in samples["first"])
    record("peak RSS, first run (largest process)", f"{rss:.0f} MB", "<= 300 MB", rss <= 300)


def _settle(folder: Path) -> None:
    """Date the inbox a minute back, as files dropped well before the run are."""
    then = time.time() - 60
    for path in (folder / "inbox").rglob("*"):
        os.utime(path, (then, then))


def in_process(folder: Path) -> None:
    """The child behind "in process": a first run and a re-run of the large day in one process."""
    import logging

    from attendbot import config
    from attendbot.run import run_day

    logging.getLogger("attendbot").setLevel(logging.ERROR)
    settings = config.load(folder / "config" / "attendbot.toml", base=folder)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        run_day(settings, largeday.DAY, dry_run=True)
        times.append(time.perf_counter() - start)
    (folder / "in-process.txt").write_text(" ".join(f"{t:.6f}" for t in times))


def bench_backfill(quick: bool) -> None:
    import backfill

    r = backfill.measure(**({"days": 10, "rounds": 1} if quick else {}))
    print(f"  back-fill: {r['days']} business days, {r['files']} inbox files, {r['rounds']} rounds")
    for name in ("all", "one"):
        record(f"back-fill on {r[name]['workers']} worker(s)", f"{r[name]['wall']:.1f} s, CPU {r[name]['cpu']:.1f} s")
    record("back-fill speed-up, all cores / one", f"{r['ratio']:.2f}x", f">= {r['target']:g}", r["met"])


def bench_engine(quick: bool) -> None:
    import engine

    r = engine.measure(**({"small": 10_000, "large": 100_000, "rounds": 1} if quick else {}), echo=None)
    small, large = r["small"], r["large"]
    for size in (small, large):
        record(f"engine: reconcile() of {size:,} charges",
               f"{r['median_wall'][size]:.1f} s, {r['rss_mb'][size]:,.0f} MB")
    record(f"engine: {large:,} / {small:,} charges", f"{r['ratio_wall']:.2f} wall, {r['ratio_cpu']:.2f} CPU",
           f"<= {r['ratio_allowed']:g}", r["met"]["ratio"])
    if "rss" in r["met"]:
        record(f"engine: peak RSS at {large:,} charges", f"{r['rss_mb'][large]:,.0f} MB", "<= 2,048 MB",
               r["met"]["rss"])


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.python_implementation()} {platform.python_version()} on {os.cpu_count()} CPUs, "
            f"load average {load}")


def write_record(quick: bool) -> None:
    """The figures as a new entry at the top of bench/RESULTS.md (newest first, as its entries are)."""
    lines = [f"## {dt.datetime.now():%Y-%m-%d %H:%M} — `bench/run.py`{' --quick' if quick else ''}\n",
             f"{machine()}\n", "| measurement | median | target | met |", "|---|---|---|---|"]
    lines += [f"| {what} | {value} | {target} | {'-' if met is None else 'yes' if met else '**no**'} |"
              for what, value, target, met in ROWS]
    results = HERE / "RESULTS.md"
    text = results.read_text(encoding="utf-8")
    at = text.find("\n## ") + 1 or len(text)  # after the file's heading and preamble (the end: no entry yet)
    results.write_text(text[:at] + "\n".join(lines) + "\n\n" + text[at:], encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, 2 rounds: a smoke run")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the large day (default 5)")
    ap.add_argument("--only", default="large,backfill,engine", help="sections, comma-separated")
    ap.add_argument("--record", action="store_true", help="add the figures to bench/RESULTS.md")
    ap.add_argument("--in-process", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.in_process:
        in_process(args.in_process)
        return 0
    only = set(args.only.split(","))
    print(f"attendbot bench {dt.datetime.now():%Y-%m-%d %H:%M}{' (quick)' if args.quick else ''}: {machine()}")
    with tempfile.TemporaryDirectory(prefix="attendbot-bench-") as tmp:
        if "large" in only:
            bench_large(Path(tmp), 2 if args.quick else args.rounds, 10 if args.quick else largeday.GROUPS)
        if "backfill" in only:
            bench_backfill(args.quick)
        if "engine" in only:
            bench_engine(args.quick)
    print(f"  load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.record:
        write_record(args.quick)
    missed = [what for what, _, _, met in ROWS if met is False]
    print(f"{len(missed)} target(s) missed" + (": " + "; ".join(missed) if missed else ""))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
