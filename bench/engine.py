"""The engine benchmark (issue 15): ``reconcile()`` over one synthetic day held in memory.

Run:  .venv/bin/python bench/engine.py [--quick] [--small N] [--large N] [--rounds R]

One synthetic day of N charges (sessions of 8-12 patients, 11 on average, so 1,000,000
charges are about 90,000 sessions), with EHR attendance rows and a sign-in sheet per session
and the usual mix of gaps (see :func:`engine_day`), reconciled under the default payer policy
(``attendbot/samples/payers.toml`` through ``config.PayerBook``, as ``tests/builders.py`` does).

Each measurement runs in its own forked child, which builds the day (not timed), then times
``reconcile()`` and the collection of the cycles it leaves (wall and CPU), and reports its own
peak RSS (the day's records included: they are what a run holds too). Rounds alternate the two
sizes (small, large, small, large...), so load on the shared machine falls on both alike; the
figures are medians over the rounds.

Targets: time(large) / time(small) <= 11 x the ratio of sizes / 10 (with the default 100,000 and
1,000,000 charges: <= 11x, i.e. linear), on the median wall time; peak RSS of the
1,000,000-charge child <= 2 GB. Exit status 1 when a target is missed. ``--quick``: 5,000 and
50,000 charges, one round (the ratio target still applies; the RSS target does not).
``measure()`` returns the figures for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import os
import random
import resource
import statistics
import sys
import time
import tomllib
import traceback

from attendbot.config import PayerBook, PayersFile
from attendbot.demo import PAYERS_TOML
from attendbot.model import Attendance, Charge, Evidence, Modality, NoteStatus, SigninLine, SigninSheet, Status
from attendbot.npi import npi_check_digit
from attendbot.reconcile import reconcile

DAY = dt.date(2026, 11, 24)
RATIO_TARGET = 11.0  # for ten times the charges
RSS_TARGET_MB = 2048
RSS_TARGET_AT = 1_000_000  # charges: the run the RSS target is for
SEATS = (8, 10, 11, 12, 12, 12, 12)  # patients charged in a session: 11 on average, at most the default cap

FIRST = ("Ana Ben Chidi Dana Elin Femi Grace Hugo Ines Jae Kofi Lena Mateo Nia Omar Priya Quinn Rosa Sami Tove "
         "Uma Viktor Wren Xiomara Yusuf Zofia Amara Bruno Carmen Dmitri Esther Felix Gloria Hassan Ingrid Jonas "
         "Keiko Luis Marisol Nadia Oskar Paloma Rashid Sofia Tomas Ulrike Valentina Wei Ximena Yosef Zara "
         "Aurelio Beatriz Cyrus Delphine Emeka Fatima Gustavo Helena Ivan Josefina Kwame Leilani Magnus").split()
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]  # 70
CLOSED = [s + c for s in SYLLABLES for c in "lmnrst"]  # 420: surnames of one open and two closed syllables
PLACES = "Hill Park Ridge Grove Landing Heights Commons Bay Crossing Valley Meadow Point".split()
PAYERS = (("TX Medicaid", 40), ("Medicare", 10), ("Aetna", 12), ("Blue Cross Blue Shield", 12), ("Cigna", 8),
          ("Magellan Health", 8), ("Self Pay", 6), ("Acme Health Plan", 4))  # the last one: no section
#: The four sessions of a site: group name, start and end hour, code, units.
TOPICS = (("Morning Process Group", 9, 12, "H0015", 1), ("Afternoon IOP Group", 13, 16, "S9480", 1),
          ("Coping Skills Group", 13, 14, "H2019", 4), ("Group Therapy", 10, 11, "90853", 1))
STAFF = ("Dana Whitfield", "Marcus Oyelaran", "Priya Raman, LCSW", "Dr. Elena Sokolova", "Jordan Ellis, LMHC")
NPI = "123456789" + npi_check_digit("123456789")


def _weighted(pairs) -> list[str]:
    return [name for name, weight in pairs for _ in range(weight)]


def patient_name(p: int) -> tuple[str, str]:
    """Patient ``p``'s first and last name, scattered over 64 first names and 12 million surnames
    (``Bakermol``): a day of a million patients has a few namesakes, as a real roster would."""
    q = (p * 2654435761 + 97) % 4294967291
    last = SYLLABLES[q % 70] + CLOSED[q // 70 % 420] + CLOSED[q // 29400 % 420]
    return FIRST[q // 12348000 % len(FIRST)], last.capitalize()


def site_name(i: int) -> str:
    """``'Dorimkelsan Ridge'``: a site's name, scattered like surnames."""
    q = (i * 2654435761 + 7) % 4294967291
    word = SYLLABLES[q % 70] + CLOSED[q // 70 % 420] + CLOSED[q // 29400 % 420]
    return f"{word.capitalize()} {PLACES[q // 12348000 % len(PLACES)]}"


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word))
    return word[:i] + rng.choice("aeiouy") + word[i + 1:]


def engine_day(charges: int, seed: int = 15) -> tuple[list[Charge], list[Attendance], list[SigninSheet]]:
    """One day of about ``charges`` charge lines: sites of four group sessions of 8-12 seats, each
    with its EHR rows and sign-in sheet. Deterministic for a given ``charges`` and ``seed``.

    The mix, per seat: payers by weight (one in 25 unknown to payers.toml), each in groups
    within its ``max_group_size`` but for patients who join a second group; per diems (H0015,
    S9480) with patients who also attend a time-coded (H2019) or group-therapy (90853) session
    the same day; no-shows (5 %), late cancels, excused absences; unsigned lines (3 %); left
    early (4 %); no times (1.5 %); telehealth (6 %, a fifth of it billed without the modifier);
    unsigned notes; units over the time; duplicate lines and a charge id on two patients; bad
    NPIs; names printed in capitals, ``Last, First`` or with a typo. Per session: one sheet in
    eight has a visitor nobody charged, one session in twenty an unbilled attendee, one in a
    hundred no sheet, one sheet in fifty a misspelt group name; EHR rows drop the word "Group".
    """
    rng = random.Random(seed)
    # a program keeps each payer's groups within its max_group_size (Medicaid 10, Magellan 8)
    payers = {size: _weighted((name, weight) for name, weight in PAYERS
                              if size <= 8 or (size <= 10 and name != "Magellan Health")
                              or name not in ("TX Medicaid", "Magellan Health")) for size in SEATS}
    times = {(h, m): dt.time(h, m) for h in range(24) for m in range(0, 60, 5)}
    out_charges: list[Charge] = []
    attendance: list[Attendance] = []
    sheets: list[SigninSheet] = []
    modifiers = {"TX Medicaid": ("GT",), "Medicare": (), "Self Pay": ()}
    cohort: dict[int, list[tuple[str, str, str, str]]] = {}  # topic -> the site's patients of that session
    next_patient = 0
    session = 0
    while len(out_charges) < charges:
        site, topic = divmod(session, len(TOPICS))
        title, first_hour, last_hour, code, units = TOPICS[topic]
        group = f"{site_name(site)} {title}"
        start, end = times[first_hour, 0], times[last_hour, 0]
        staff = STAFF[site % len(STAFF)]
        if topic == 0:
            cohort.clear()
        shared = cohort.get(0 if topic == 2 else 1, [])[: 4 if topic == 2 else 3] if topic in (2, 3) else []
        seats = list(shared)
        size = SEATS[rng.randrange(len(SEATS))]
        while len(seats) < size:
            first, last = patient_name(next_patient)
            seats.append((f"P{next_patient:07d}", first, last, rng.choice(payers[size])))
            next_patient += 1
        cohort[topic] = seats
        page = len(sheets) + 1
        lines: list[SigninLine] = []
        for seat, (pid, first, last, payer) in enumerate(seats):
            r = rng.random()
            status = (Status.NO_SHOW if r < 0.05 else Status.CANCELLED if r < 0.065
                      else Status.EXCUSED if r < 0.075 else Status.PRESENT)
            time_in, time_out = start, end
            r = rng.random()
            if r < 0.04:  # left early
                time_out = times[last_hour - 1, rng.choice((0, 15, 30))]
            elif r < 0.055:  # nobody wrote the times down
                time_in = time_out = None
            video = rng.random() < 0.06
            mods = modifiers.get(payer, ("95",)) if video and rng.random() > 0.2 else ()
            n = len(out_charges)
            evidence = Evidence("charges.csv", row=n + 2)
            cid = f"C{n:07d}"
            r = rng.random()
            npi = None if r < 0.003 else NPI[:-1] + "0" if r < 0.008 and NPI[-1] != "0" else NPI
            charge = Charge(cid, DAY, pid, f"{last}, {first}", payer, code,
                            units + (rng.random() < 0.05 if code == "H2019" else 0), group, mods,
                            start, end, staff, npi, "10" if video else "11", None, 182.0, evidence)
            out_charges.append(charge)
            r = rng.random()
            if r < 0.007:  # the same line exported twice
                out_charges.append(dataclasses.replace(charge, charge_id=cid + "D"))
            elif r < 0.008 and n:  # one charge id on two patients' lines
                out_charges[-1] = dataclasses.replace(charge, charge_id=out_charges[-2].charge_id)
            present = status is Status.PRESENT
            if rng.random() > 0.01:  # one in a hundred has no EHR row
                attendance.append(Attendance(
                    DAY, pid, group.removesuffix(" Group"), status,
                    f"{first} {last}" if rng.random() < 0.7 else None,
                    time_in if present else None, time_out if present else None,
                    NoteStatus.UNSIGNED if rng.random() < 0.03 else NoteStatus.SIGNED, staff,
                    Modality.VIDEO if video else Modality.IN_PERSON, Evidence("ehr.csv", row=len(attendance) + 2)))
            if present and rng.random() > 0.01:  # one in a hundred is not on the sheet
                r = rng.random()
                printed = (f"{first} {_typo(last, rng)}" if r < 0.05 else f"{last}, {first}" if r < 0.15
                           else f"{first} {last}" if r < 0.4 else f"{first} {last}".upper())
                lines.append(SigninLine(len(lines) + 1, printed, rng.random() > 0.03, time_in, time_out,
                                        Evidence("signin.pdf", page=page, row=len(lines) + 1)))
        if session % 8 == 3:  # a visitor nobody charged
            first, last = patient_name(rng.randrange(10**9))  # a family member, a new patient not yet registered
            lines.append(SigninLine(len(lines) + 1, f"{first} {last}", True, start, end,
                                    Evidence("signin.pdf", page=page, row=len(lines) + 1)))
        if session % 20 == 7:  # an attendee nobody billed: in the EHR and on the sheet
            first, last = patient_name(next_patient)
            pid = f"P{next_patient:07d}"
            next_patient += 1
            attendance.append(Attendance(DAY, pid, group, Status.PRESENT, f"{first} {last}", start, end,
                                         NoteStatus.SIGNED, staff, Modality.IN_PERSON,
                                         Evidence("ehr.csv", row=len(attendance) + 2)))
            lines.append(SigninLine(len(lines) + 1, f"{first} {last}".upper(), True, start, end,
                                    Evidence("signin.pdf", page=page, row=len(lines) + 1)))
        if session % 100 != 41:  # one session in a hundred has no sheet
            written = group if session % 50 != 17 else f"{site_name(site)} {_typo(title, rng)}"
            sheets.append(SigninSheet(written, DAY, start, end, staff, session % 50 != 29, tuple(lines),
                                      Evidence("signin.pdf", page=page)))
        session += 1
    return out_charges, attendance, sheets



def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _measure_one(charges: int) -> dict:
    """In the child: build the day, then reconcile it once, timed."""
    payers = PayerBook(PayersFile.model_validate(tomllib.loads(PAYERS_TOML)))
    built = time.perf_counter()
    gc.disable()  # building: nothing to collect; reconcile runs with the collector on, as in a run
    day = engine_day(charges)
    gc.enable()
    gc.collect()
    built = time.perf_counter() - built
    records_rss = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    result = reconcile(DAY, *day, payers.policy_for)
    gc.collect(0)  # what reconcile left to the cycle collector (it pauses it) is part of its cost
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"charges": len(day[0]), "sessions": len(result.sessions), "gaps": len(result.gaps), "wall": wall,
            "cpu": cpu, "build": built, "records_rss_mb": records_rss, "rss_mb": _rss_mb()}


def in_child(fn, *args) -> dict:
    """``fn(*args)`` in a forked child, so its memory (and peak RSS) is its own; its JSON result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        status = 0
        try:
            payload = json.dumps(fn(*args))
        except BaseException:  # noqa: BLE001 - reported to the parent
            payload, status = json.dumps({"error": traceback.format_exc()}), 1
        with os.fdopen(write, "w") as fh:
            fh.write(payload)
        os._exit(status)
    os.close(write)
    with os.fdopen(read) as fh:
        payload = fh.read()
    os.waitpid(pid, 0)
    out = json.loads(payload) if payload else {"error": "the child died without a word"}
    if "error" in out:
        raise RuntimeError(f"engine child for {args} failed:\n{out['error']}")
    return out


def measure(small: int = 100_000, large: int = 1_000_000, rounds: int = 3, echo=print) -> dict:
    """Time ``reconcile()`` on a day of ``small`` and of ``large`` charges, ``rounds`` times each,
    interleaved, each in its own child. Returns the figures, the ratios and whether the targets
    are met (``met``: what -> True/False; the RSS target only when ``large`` is 1,000,000)."""
    runs: dict[int, list[dict]] = {small: [], large: []}
    for r in range(rounds):
        for size in (small, large):
            run = in_child(_measure_one, size)
            runs[size].append(run)
            if echo:
                echo(f"  round {r + 1}/{rounds}, {size:>9,} charges: {run['wall']:7.2f} s wall, {run['cpu']:7.2f} s "
                     f"CPU, peak RSS {run['rss_mb']:,.0f} MB (records {run['records_rss_mb']:,.0f} MB; "
                     f"built in {run['build']:.1f} s)")
    med = {size: {k: statistics.median(run[k] for run in rs) for k in ("wall", "cpu")} for size, rs in runs.items()}
    scale = large / small
    allowed = RATIO_TARGET * scale / 10
    out = {
        "small": small, "large": large, "rounds": rounds, "runs": runs,
        "median_wall": {size: m["wall"] for size, m in med.items()},
        "median_cpu": {size: m["cpu"] for size, m in med.items()},
        "ratio_wall": med[large]["wall"] / med[small]["wall"],
        "ratio_cpu": med[large]["cpu"] / med[small]["cpu"],
        "ratio_allowed": allowed,
        "rss_mb": {size: max(run["rss_mb"] for run in rs) for size, rs in runs.items()},
        "records_rss_mb": {size: max(run["records_rss_mb"] for run in rs) for size, rs in runs.items()},
        "load_average": os.getloadavg(),
    }
    out["met"] = {"ratio": out["ratio_wall"] <= allowed}
    if large == RSS_TARGET_AT:
        out["met"]["rss"] = out["rss_mb"][large] <= RSS_TARGET_MB
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5,000 and 50,000 charges, one round: a smoke run")
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--large", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    small, large, rounds = (5_000, 50_000, 1) if args.quick else (args.small, args.large, args.rounds)
    print(f"attendbot engine bench {dt.datetime.now():%Y-%m-%d %H:%M}: reconcile() on {small:,} and {large:,} "
          f"charges, {rounds} interleaved round(s); load average {os.getloadavg()[0]:.2f}", flush=True)
    out = measure(small, large, rounds, echo=lambda line: print(line, flush=True))
    for size in (small, large):
        print(f"  {size:>9,} charges: median {out['median_wall'][size]:.2f} s wall, {out['median_cpu'][size]:.2f} s "
              f"CPU; peak RSS {out['rss_mb'][size]:,.0f} MB")
    verdict = {True: "ok", False: "MISSED"}
    print(f"  ratio {large:,} / {small:,}: {out['ratio_wall']:.2f}x wall, {out['ratio_cpu']:.2f}x CPU "
          f"(target <= {out['ratio_allowed']:.1f}x wall): {verdict[out['met']['ratio']]}")
    if "rss" in out["met"]:
        print(f"  peak RSS at {large:,} charges: {out['rss_mb'][large]:,.0f} MB (target <= {RSS_TARGET_MB:,} MB): "
              f"{verdict[out['met']['rss']]}")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in out['load_average'])}")
    return 0 if all(out["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
