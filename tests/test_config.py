"""Configuration: the example program loads; every kind of mistake names file, key and problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from attendbot import config
from attendbot.demo import ATTENDBOT_TOML, PAYERS_TOML
from attendbot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_example_program_is_valid():
    settings = config.load(ROOT / "config" / "attendbot.toml", base=ROOT)
    assert settings.program.name
    assert settings.inbox == ROOT / "inbox"
    assert settings.payers.policy_for("TX Medicaid", "H0015").kind == "medicaid"


def test_code_sections_override_payers_and_payers_override_defaults(program):
    payers = program.settings().payers
    medicaid, aetna = payers.policy_for("Texas MEDICAID", "H2019"), payers.policy_for("Aetna Choice POS II", "H2019")
    assert medicaid.max_group_size == 10 and aetna.max_group_size == 12
    assert medicaid.telehealth_modifiers == ("GT",) and aetna.telehealth_modifiers == ("95",)
    assert medicaid.rule.max_units_per_day == 12
    assert aetna.rule.max_units_per_day == 16
    assert payers.policy_for("Texas MEDICAID", "h2019").rule.unit_minutes == 15  # from [defaults.codes.H2019]
    assert payers.policy_for("Texas MEDICAID", "99999").rule is None


def test_a_payer_that_matches_no_section_falls_back_to_the_defaults(program):
    policy = program.settings().payers.policy_for("Oscar Health", "H0015")
    assert policy.section is None and policy.max_group_size == 12


def _error(program, main_extra: str = "", payers_extra: str = "", main: str | None = None,
           payers: str | None = None) -> ConfigError:
    program.write_config(main if main is not None else ATTENDBOT_TOML + main_extra,
                         payers if payers is not None else PAYERS_TOML + payers_extra)
    with pytest.raises(ConfigError) as info:
        program.settings()
    return info.value


@pytest.mark.parametrize("payers_extra, key, words", [
    ("[payers.x]\nmaximum_group = 3\n", "payers.x.maximum_group", "unknown key"),
    ("[payers.x]\nmax_group_size = \"ten\"\n", "payers.x.max_group_size", "integer"),
    ("[payers.x]\nmax_group_size = -1\n", "payers.x.max_group_size", "greater than or equal to 0"),
    ("[payers.x]\nno_show = \"maybe\"\n", "payers.x.no_show", "not_billable"),
    ("[payers.x.codes.H2019]\nunit_rounding = \"up\"\n", "payers.x.codes.H2019.unit_rounding", "8-minute"),
    ("[payers.x.codes.T1006]\nmin_minutes = 30\n", "payers.x.codes.T1006.unit", "required"),
    ("[payers.x.codes.T1006]\nunit = \"time\"\n", "payers.x.codes.T1006.unit_minutes", "required"),
    ("[payers.x.codes.T1006]\nunit = \"day\"\nmin_minutes = -5\n", "payers.x.codes.T1006.min_minutes",
     "greater than or equal to 0"),
    ("[payers.x]\nkind = \"medicaid\"\nno_show = \"fee\"\n", "payers.x.no_show", "never allowed"),
])
def test_a_bad_payers_file_names_the_key_and_the_problem(program, payers_extra, key, words):
    err = _error(program, payers_extra=payers_extra)
    assert err.file.endswith("payers.toml") and err.key == key and words in err.problem


@pytest.mark.parametrize("main, key, words", [
    ("[program]\ntimezone = \"Mars/Olympus\"\n", "program.timezone", "unknown time zone"),
    ("[program]\nrun_at = \"3:30pm\"\n", "program.run_at", "24-hour"),
    ("[program]\nrun_at = \"18:00\"\nclose_of_business = \"17:00\"\n", "program", "before close_of_business"),
    ("[program]\nbusiness_days = [\"monday\"]\n", "program.business_days.0", "mon"),
    ("[program]\nholidays = \"XX\"\n", "program.holidays", "no public-holiday calendar"),
    ("[program]\nclosed_days = [\"someday\"]\n", "program.closed_days.0", "date"),
    ("[slack]\npatient_identity = \"everything\"\n", "slack.patient_identity", "none"),
    ("[columns.charges]\nmrn = [\"Acct\"]\n", "columns", "unknown field 'mrn'"),
    ("[columns.invoices]\npatient_id = [\"Acct\"]\n", "columns", "unknown input kind"),
    ("[paths]\nsettle_seconds = -1\n", "paths.settle_seconds", "greater than or equal to 0"),
    ("[mystery]\n", "mystery", "unknown key"),
])
def test_a_bad_main_file_names_the_key_and_the_problem(program, main, key, words):
    err = _error(program, main=main)
    assert err.file.endswith("attendbot.toml") and err.key == key and words in err.problem, err


def test_a_holiday_country_code_is_checked_without_importing_every_country(program):
    """Loading the config is on every run's path, a re-run's included: the code is looked up in
    the holidays registry, not in ``list_supported_countries()``, which imports all 250 countries."""
    program.write_config(ATTENDBOT_TOML.replace('holidays = "US"', 'holidays = "uk"'), PAYERS_TOML)
    code = ("import sys\nfrom pathlib import Path\nfrom attendbot import config\n"
            f"settings = config.load(Path({str(program.config_path)!r}), base=Path({str(program.root)!r}))\n"
            "print(settings.program.holidays, sum(m.startswith('holidays.countries.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["UK", "0"]


def test_the_holiday_codes_accepted_are_the_holidays_librarys_countries_and_their_aliases():
    import holidays
    from holidays.registry import EntityLoader

    assert set(EntityLoader.get_country_codes()) == set(holidays.list_supported_countries())


def test_a_file_that_is_not_toml_is_named(program):
    err = _error(program, main="[program\nname = 1\n")
    assert err.file.endswith("attendbot.toml") and "not valid TOML" in err.problem


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        config.load(tmp_path / "nowhere.toml")


def test_the_rosters_folder_is_off_by_default_resolves_like_the_paths_and_is_never_in_the_inbox(program):
    from attendbot.demo import ATTENDBOT_TOML, PAYERS_TOML

    assert program.settings().rosters_dir is None
    program.write_config(ATTENDBOT_TOML + '\n[rosters]\nfolder = ""\n', PAYERS_TOML)
    assert program.settings().rosters_dir is None
    program.write_config(ATTENDBOT_TOML + '\n[rosters]\nfolder = "print/rosters"\n', PAYERS_TOML)
    assert program.settings().rosters_dir == program.root / "print" / "rosters"
    # printed rosters in the inbox would be read back as sign-in sheets nobody signed
    err = _error(program, main_extra='\n[rosters]\nfolder = "inbox/print"\n')
    assert err.key == "paths.inbox" and "rosters.folder" in err.problem
    err = _error(program, main_extra='\n[rosters]\nfolder = 3\n')
    assert err.key == "rosters.folder" and "string" in err.problem
    err = _error(program, main_extra='\n[rosters]\nprint_at = "15:00"\n')
    assert err.key == "rosters.print_at" and err.problem == "unknown key"


def test_relative_paths_resolve_against_the_working_folder_and_flags_override(program):
    settings = config.load(program.config_path, base=program.root, inbox="elsewhere", db="/tmp/x.db")
    assert settings.inbox == program.root / "elsewhere"
    assert settings.db == Path("/tmp/x.db")
    assert settings.audit_dir == program.root / "audit"
