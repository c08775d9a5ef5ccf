"""Back-fill on all cores against one: ``attendbot run --from D1 --to D2``. A target, not a test.

Run:  .venv/bin/python bench/backfill.py [--days 60] [--rounds 3] [--quick]

It builds a program whose inbox holds ``days`` business days of realistic size: each day a
charge export (XLSX with title lines), an EHR attendance export (CSV), three sign-in PDFs
(five pages: drawn, pasted-image and typed signatures, one line left unsigned) and a
telehealth group's XLSX sign-in sheet; six sessions, 44 charges a day, with the usual
imperfections (a no-show charged, a late arrival, an unsigned line). Each round then runs the
whole back-fill twice, interleaved, each in a fresh copy of the program (empty ledger) and in
its own process, exactly as an operator would: once with every core reading
(``ATTENDBOT_READERS`` unset) and once with one (``ATTENDBOT_READERS=1``). It prints the
medians of wall and CPU time (the run's process and every reader it forked) and the ratio.
Target: one reader / all readers >= 1.7 on 2 cores. Exit status 1 when it is missed.
--quick: 10 days, 1 round (a smoke run; its ratio is not comparable).
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
from pathlib import Path

from attendbot.calendar import business_days_between
from attendbot.demo import ATTENDBOT_TOML, NPI, PAYERS_TOML
from attendbot.ingest.sandbox import WORKERS_VARIABLE
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.later_days import CHARGE_HEADER, EHR_HEADER
from attendbot.samples.signin_pdf import write_signin_pdf
from attendbot.samples.tables import write_signin_xlsx, write_table_csv, write_table_xlsx

TARGET = 1.7
FIRST_DAY = dt.date(2026, 9, 1)
PROGRAM = "Riverbend Recovery IOP"
DANA, MARCUS, PRIYA = NPI
FIRST = "Ana Ben Chidi Dana Elin Femi Grace Hugo Ines Jae Kofi Lena Mateo Nia Omar Priya Quinn Rosa Sam Tobi".split()
LAST = "Adeyemi Brennan Castillo Dubois Eriksen Fischer Garcia Hughes Ibarra Jensen Kowalski".split()
PAYERS = ["TX Medicaid", "Aetna", "Blue Cross Blue Shield", "Cigna", "Magellan Health", "Self Pay"]
# group, code, units, start, end, facilitator, patients, the sign-in file it is on ("xlsx": telehealth)
SESSIONS = [
    ("Morning Process Group", "H0015", 1, "9:00 AM", "12:00 PM", DANA, 10, "signin_morning"),
    ("Anger Management Group", "S9480", 1, "9:00 AM", "12:00 PM", MARCUS, 8, "signin_morning"),
    ("Family Group", "90853", 1, "12:30 PM", "1:30 PM", PRIYA, 6, "signin_family"),
    ("Early Recovery Group", "H0015", 1, "9:00 AM", "10:30 AM", PRIYA, 6, "signin_recovery"),
    ("Relapse Prevention Group", "H0015", 1, "10:45 AM", "12:15 PM", PRIYA, 6, "signin_recovery"),
    ("Afternoon Skills Group", "H2019", 12, "1:00 PM", "4:00 PM", MARCUS, 8, "xlsx"),
]
SIGNATURES = ("stroke", "stroke", "image", "stroke", "text")


def patient(n: int) -> tuple[str, str, str, str]:
    """MRN, ``Last, First`` (as the billing system writes it), ``First Last`` (as the sheet), payer."""
    first, last = FIRST[n % len(FIRST)], LAST[n // len(FIRST) % len(LAST)]
    return f"{5000 + n:06d}", f"{last}, {first}", f"{first} {last}", PAYERS[n % len(PAYERS)]


def write_day(inbox: Path, day: dt.date, index: int) -> None:
    """One business day's files in its day folder."""
    folder = inbox / day.isoformat()
    folder.mkdir(parents=True)
    charges, ehr, sheets = [], [], {}
    seat = 0
    for s, (group, code, units, start, end, who, size, file) in enumerate(SESSIONS):
        lines = []
        for i in range(size):
            mrn, billed_as, signed_as, payer = patient((seat + index * 7) % 220)
            seat += 1
            no_show, late, unsigned = (i == (index + s) % size, i == (index + 2 * s + 1) % size,
                                       i == (index + 3 * s + 2) % size)
            telehealth = file == "xlsx"
            modifier = ("GT" if payer == "TX Medicaid" else "95") if telehealth else ""
            charges.append((f"C-{index:03d}{s}{i:02d}", day, mrn, billed_as, payer, code, modifier, units, group,
                            dt.datetime.strptime(start, "%I:%M %p").time(), dt.datetime.strptime(end, "%I:%M %p").time(),
                            who, NPI[who], "10" if telehealth else "11", 182.0))
            time_in = "10:05" if late else start.split()[0]
            status = "No Show" if no_show else "Late" if late else "Present"
            ehr.append((day.strftime("%m/%d/%Y"), mrn, billed_as, group.removesuffix(" Group"), status,
                        "" if no_show else time_in, "" if no_show else end, "" if no_show else "Signed", who,
                        "Video" if telehealth else "In Person"))
            if not no_show:
                lines.append(LineDraft(signed_as, None if unsigned else SIGNATURES[i % len(SIGNATURES)],
                                       time_in, end.split()[0]))
        sheets.setdefault(file, []).append(SheetDraft(group, day, start, end, who, lines=lines))
    stamp = day.strftime("%Y%m%d")
    write_table_xlsx(folder / f"charges_export_{stamp}.xlsx", CHARGE_HEADER, charges, sheet="Charges",
                     title=[PROGRAM, "Scheduled Charges Report", f"Date of service: {day:%m/%d/%Y}"])
    write_table_csv(folder / f"EHR_attendance_{stamp}.csv", EHR_HEADER, ehr,
                    title=["Group Attendance Export", f"Run {day:%m/%d/%Y} 3:05 PM"])
    for file, drafts in sheets.items():
        if file == "xlsx":
            write_signin_xlsx(folder / f"skills_signin_{stamp}.xlsx", drafts, program=PROGRAM)
        else:
            write_signin_pdf(folder / f"{file}_{stamp}.pdf", drafts)


def build_program(folder: Path, days: int) -> tuple[dt.date, dt.date]:
    """A program folder (config, inbox) holding ``days`` business days from :data:`FIRST_DAY`; the range."""
    (folder / "config").mkdir(parents=True)
    (folder / "inbox").mkdir()
    (folder / "config" / "attendbot.toml").write_text(ATTENDBOT_TOML, encoding="utf-8")
    (folder / "config" / "payers.toml").write_text(PAYERS_TOML, encoding="utf-8")
    range_ = business_days_between(FIRST_DAY, FIRST_DAY + dt.timedelta(days=days * 2), ["mon", "tue", "wed", "thu", "fri"],
                                   [], "US")[:days]
    for index, day in enumerate(range_):
        write_day(folder / "inbox", day, index)
    return range_[0], range_[-1]


# Runs ``attendbot ...`` (sys.argv) in its own process and prints what that process and its children
# (the forked readers and workbook writers) used, as ``wall cpu_self cpu_children``.
_RUN = """
import resource, sys, time
from attendbot.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
wall = time.perf_counter() - start
cpu = [r.ru_utime + r.ru_stime for r in (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))]
print(wall, *cpu)
sys.exit(code)
"""


def _backfill(program: Path, first: dt.date, last: dt.date, workers: int | None) -> tuple[float, float, float]:
    """Seconds of one back-fill of a fresh copy of ``program``, in its own process as an operator runs
    it: wall, CPU of the run's process, CPU of the processes it forked."""
    with tempfile.TemporaryDirectory(prefix="attendbot-bench-backfill-run-") as tmp:
        folder = Path(tmp) / "program"
        shutil.copytree(program, folder)
        env = {k: v for k, v in os.environ.items() if k != WORKERS_VARIABLE}
        if workers is not None:
            env[WORKERS_VARIABLE] = str(workers)
        done = subprocess.run([sys.executable, "-c", _RUN, "run", "--from", first.isoformat(), "--to", last.isoformat(),
                               "--config", str(folder / "config" / "attendbot.toml")],
                              cwd=folder, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        wall, cpu_self, cpu_children = (float(x) for x in done.stdout.split()[-3:])
        return wall, cpu_self, cpu_children


def measure(days: int = 60, rounds: int = 3) -> dict:
    """Time the back-fill of ``days`` business days with every core and with one, ``rounds`` times,
    interleaved (the order alternates each round, so machine load falls on both alike).

    Returns ``{"days", "rounds", "files", "cores", "all": {...}, "one": {...}, "ratio", "target",
    "met", "load"}``; ``all`` and ``one`` hold ``workers``, the medians (seconds) ``wall``, ``cpu``
    (``cpu_run`` of the run's process plus ``cpu_forked`` of its readers and workbook writers) and
    every round's ``walls``. ``ratio`` is one's median wall / all's; ``load``
    is the 1-minute load average before and after.
    """
    cores = len(os.sched_getaffinity(0))
    load = [os.getloadavg()[0]]
    runs = {"all": None, "one": 1}
    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory(prefix="attendbot-bench-backfill-") as tmp:
        program = Path(tmp) / "program"
        first, last = build_program(program, days)
        files = sum(1 for p in (program / "inbox").rglob("*") if p.is_file())
        for n in range(rounds):
            for name in (list(runs) if n % 2 == 0 else list(reversed(runs))):
                times[name].append(_backfill(program, first, last, runs[name]))
    load.append(os.getloadavg()[0])
    result = {}
    for name, workers in runs.items():
        wall, own, forked = (statistics.median(t[i] for t in times[name]) for i in range(3))
        result[name] = {"workers": workers or cores, "wall": wall, "cpu": own + forked, "cpu_run": own,
                        "cpu_forked": forked, "walls": [t[0] for t in times[name]]}
    ratio = result["one"]["wall"] / result["all"]["wall"]
    return {"days": days, "rounds": rounds, "files": files, "cores": cores, **result, "ratio": ratio,
            "target": TARGET, "met": ratio >= TARGET, "load": load}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=60, help="business days in the inbox and the back-fill")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (the median is reported)")
    ap.add_argument("--quick", action="store_true", help="10 days, 1 round: a smoke run")
    args = ap.parse_args()
    days, rounds = (10, 1) if args.quick else (args.days, args.rounds)
    r = measure(days, rounds)
    print(f"attendbot back-fill bench {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, "
          f"{r['cores']} cores, Python {platform.python_version()}{' (quick: not comparable)' if args.quick else ''}")
    print(f"  {days} business days, {r['files']} inbox files; {rounds} interleaved rounds; "
          f"load average {r['load'][0]:.2f} before, {r['load'][1]:.2f} after")
    for name in ("all", "one"):
        x = r[name]
        print(f"  {x['workers']} worker{'s' if x['workers'] != 1 else ''}: median {x['wall']:6.1f} s wall "
              f"({', '.join(f'{w:.1f}' for w in x['walls'])}); CPU {x['cpu']:6.1f} s "
              f"(run {x['cpu_run']:.1f}, forked readers and writers {x['cpu_forked']:.1f})")
    print(f"  one worker / all: {r['ratio']:.2f}x wall; target >= {TARGET}: {'met' if r['met'] else 'MISSED'}")
    return 0 if r["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
