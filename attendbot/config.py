"""Load and validate ``attendbot.toml`` and ``payers.toml``.

Both files are validated in full before anything runs: an unknown key, a wrong
type or an impossible value raises :class:`ConfigError` naming the file, the key
and the problem (the CLI turns it into exit status 2). ``attendbot check`` runs
exactly this code.

Payer rules are layered like pdfplumber's table settings: a code section inside
a payer overrides that payer, a payer section overrides ``[defaults]``, and
``[defaults]`` overrides the spec's defaults (the ``[defaults]`` of the example
``payers.toml`` shipped in ``attendbot/samples``, the one copy of them).
:meth:`PayerBook.policy_for` resolves a charge's payer name and code once into the
flat :class:`~attendbot.reconcile.policy.Policy` that reconciliation reads.

Secrets never live in these files. Before anything else is checked, every key
and string value of both files is looked at: a value that looks like a Slack
token (``xoxb-…``, ``xoxp-…``, ``xapp-…``) or a key named like a secret
(``token``, ``bot_token``, ``slack_token``, ``secret``, ``password`` …) stops the
run with a message to put the token in ``SLACK_BOT_TOKEN`` instead.

``[rosters] folder`` (attendbot.toml; default ``""`` = off): where ``attendbot serve`` prints the
next business day's rosters after each afternoon run (:class:`RostersSection`); never inside the inbox.

``[retention] keep_days`` (attendbot.toml; default 0 = off): how many days of
records ``attendbot purge`` keeps. With ``keep_days = 90``, ``attendbot purge``
deletes the ledger rows, audit workbooks and quarantined files of service days
before today (in the program's time zone) minus 90 days. Nothing is ever deleted
unless ``attendbot purge`` is run (from cron, say); ``--before DATE`` gives the
cut-off directly.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from importlib import resources
import zoneinfo
from dataclasses import dataclass, fields, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from attendbot.calendar import Calendar
from attendbot.codes import GapCode
from attendbot.errors import ConfigError
from attendbot.readers.columns import FIELDS_BY_KIND
from attendbot.reconcile.policy import CodeRule, Policy

DEFAULT_CONFIG = Path("config/attendbot.toml")
MINUTES_A_DAY = 24 * 60
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"must be a 24-hour time like '15:30', not {value!r}")
    return value


# --- attendbot.toml ---------------------------------------------------------------


class ProgramSection(_Section):
    name: str = "IOP program"
    timezone: str = "America/Chicago"
    run_at: str = "15:30"
    close_of_business: str = "17:00"
    business_days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    holidays: str = "US"
    closed_days: list[Annotated[dt.date, Field(strict=False)]] = Field(default_factory=list)
    follow_up_minutes: Annotated[int, Field(ge=0, le=MINUTES_A_DAY)] = 30  # re-check the inbox this often; 0: never

    _check_times = field_validator("run_at", "close_of_business")(_hhmm)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like 'America/Chicago')") from None
        return value

    @field_validator("holidays")
    @classmethod
    def _country(cls, value: str) -> str:
        if value:
            # the registry's codes, not holidays.list_supported_countries(), which imports every country
            from holidays.registry import EntityLoader

            if value.upper() not in set(EntityLoader.get_country_codes()):
                raise ValueError(f"no public-holiday calendar for country code {value!r}")
        return value.upper()

    @model_validator(mode="after")
    def _run_before_close(self) -> "ProgramSection":
        if self.run_at >= self.close_of_business:
            raise ValueError(f"run_at {self.run_at} must be before close_of_business {self.close_of_business}")
        return self

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def calendar(self) -> Calendar:
        """The program's business days, closed days and public holidays (:mod:`attendbot.calendar`)."""
        return Calendar.of(self.business_days, self.closed_days, self.holidays)


class PathsSection(_Section):
    inbox: str = "inbox"
    db: str = "var/attendbot.db"
    audit_dir: str = "audit"
    settle_seconds: Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False, strict=False)] = 5.0  # wait for a file
    # changed more recently than this to settle (at most this long)


class SlackSection(_Section):
    api_url: str = ""
    billing_channel: str = ""
    facilitator_channel: str = ""
    patient_identity: Literal["none", "initials", "full"] = "none"
    intake_channel: str = ""  # authorization and review digests (default: billing_channel)
    clinical_channel: str = ""  # repeat no-shows and weekly hours (default: billing_channel)
    billing_leads: list[str] = Field(default_factory=list)  # Slack user ids who may answer any alert
    escalate_before_close_minutes: Annotated[int, Field(ge=0, le=MINUTES_A_DAY)] = 45
    facilitators: dict[str, str] = Field(default_factory=dict)

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.match(r"^https?://", value):
            raise ValueError(f"must be an http(s) URL, not {value!r}")
        return value


class RetentionSection(_Section):
    """How long records are kept: ``attendbot purge`` deletes service days before today minus
    ``keep_days`` (0, the default: retention is off and purge needs ``--before DATE``)."""

    keep_days: Annotated[int, Field(ge=0, le=36500)] = 0


class RostersSection(_Section):
    """Printed rosters from ``attendbot serve``: after each afternoon run it writes the next business
    day's rosters (the same PDF as ``attendbot rosters``) to ``<folder>/rosters-YYYY-MM-DD.pdf``.
    ``folder`` is resolved like ``[paths]``; ``""`` (the default) turns printing off."""

    folder: str = ""


class MainFile(_Section):
    program: ProgramSection = Field(default_factory=ProgramSection)
    paths: PathsSection = Field(default_factory=PathsSection)
    slack: SlackSection = Field(default_factory=SlackSection)
    retention: RetentionSection = Field(default_factory=RetentionSection)
    rosters: RostersSection = Field(default_factory=RostersSection)
    columns: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    carc: dict[str, Annotated[str, Field(max_length=80)]] = Field(default_factory=dict)  # gap code -> likely CARC

    @field_validator("carc")
    @classmethod
    def _known_codes(cls, value: dict[str, str]) -> dict[str, str]:
        known = {c.value for c in GapCode}
        for code in value:
            if code not in known:
                raise ValueError(f"[carc] has unknown gap code {code!r} (one of the gap codes in SPEC.md, "
                                 f"like AUTH_MISSING)")
        return value

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, dict[str, list[str]]]) -> dict:
        for kind, mapping in value.items():
            if kind not in FIELDS_BY_KIND:
                raise ValueError(f"unknown input kind {kind!r} (one of: {', '.join(FIELDS_BY_KIND)})")
            names = {f.name for f in FIELDS_BY_KIND[kind]}
            for name in mapping:
                if name not in names:
                    raise ValueError(f"[columns.{kind}] has unknown field {name!r} (one of: {', '.join(sorted(names))})")
        return value


# --- payers.toml ------------------------------------------------------------------


_Minutes = Annotated[int, Field(ge=0, le=MINUTES_A_DAY)]
_People = Annotated[int, Field(ge=0, le=1000)]
_Money = Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False, strict=False)]
_Code = Annotated[str, Field(min_length=1, max_length=16)]


class CodeSection(_Section):
    unit: Literal["day", "session", "time"] | None = None
    min_minutes: _Minutes | None = None
    unit_minutes: Annotated[int, Field(gt=0, le=MINUTES_A_DAY)] | None = None
    unit_rounding: Literal["8-minute", "full"] | None = None
    max_units_per_day: Annotated[int, Field(gt=0, le=1000)] | None = None
    max_group_size: _People | None = None  # 0: no cap
    min_group_size: _People | None = None
    down_code: _Code | None = None  # fewer minutes than min_minutes but enough for this code: adjust to it
    attendance: Literal["required", "not_required"] | None = None
    add_on_to: list[_Code] | None = None  # an add-on code needs one of these the same day
    revenue_codes: list[_Code] | None = None  # the revenue codes a facility claim may carry with it


class RepeatNoShow(_Section):
    count: Annotated[int, Field(gt=0, le=100)]
    days: Annotated[int, Field(gt=0, le=366)]


class RuleSection(_Section):
    """Every payer rule; unset (None) means 'inherit from the layer below'."""

    max_group_size: _People | None = None  # 0: no cap
    min_group_size: _People | None = None
    telehealth_modifiers: list[_Code] | None = None
    audio_modifiers: list[_Code] | None = None
    telehealth_pos: list[_Code] | None = None
    no_show: Literal["not_billable", "fee"] | None = None
    no_show_fee: _Money | None = None
    late_cancel: Literal["not_billable", "fee"] | None = None
    late_cancel_fee: _Money | None = None
    same_day_exclusive: list[Annotated[list[_Code], Field(min_length=2, max_length=2)]] | None = None
    distinct_service_modifiers: list[_Code] | None = None
    require_signed_note: bool | None = None
    require_signature: bool | None = None
    requires_auth: bool | None = None
    weekly_min_hours: Annotated[float, Field(ge=0, le=168, allow_inf_nan=False, strict=False)] | None = None
    weekly_min_days: Annotated[int, Field(ge=0, le=7)] | None = None
    repeat_no_show: RepeatNoShow | None = None
    review_reminder_business_days: Annotated[int, Field(ge=0, le=60)] | None = None
    codes: dict[str, CodeSection] = Field(default_factory=dict)


PayerKind = Literal["medicaid", "medicare", "commercial", "self_pay"]


class PayerSection(RuleSection):
    kind: PayerKind = "commercial"
    match: list[Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]] = Field(default_factory=list)


class PayersFile(_Section):
    defaults: RuleSection = Field(default_factory=RuleSection)
    payers: dict[str, PayerSection] = Field(default_factory=dict)


#: The payer-level keys of a :class:`Policy`, each settable in [defaults] and in a payer section.
_RULE_KEYS = tuple(f.name for f in fields(Policy) if f.name not in ("section", "kind", "rule"))


def _values(section: RuleSection) -> dict[str, Any]:
    """The rules a section sets, as :class:`Policy` values (lists become tuples)."""
    out: dict[str, Any] = {}
    for key in _RULE_KEYS:
        value = getattr(section, key)
        if value is None:
            continue
        if isinstance(value, RepeatNoShow):
            value = (value.count, value.days)
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        out[key] = value
    return out


@lru_cache(maxsize=1)
def packaged_carc() -> dict[str, str]:
    """attendbot's default gap code -> likely CARC table (``attendbot/samples/carc.toml``, with its sources)."""
    text = resources.files("attendbot.samples").joinpath("carc.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text)["carc"])


@lru_cache(maxsize=1)
def _packaged_defaults() -> dict[str, Any]:
    """The spec's default rules: the ``[defaults]`` of the example ``payers.toml`` that ships
    with attendbot (the one copy of the default policy). A program's own ``[defaults]``
    overrides any of them; its codes are its own."""
    text = resources.files("attendbot.samples").joinpath("payers.toml").read_text(encoding="utf-8")
    return _values(PayersFile.model_validate(tomllib.loads(text)).defaults)


class PayerBook:
    """Resolves a payer name as written in an export, and a code, into the :class:`Policy` to apply."""

    def __init__(self, payers: PayersFile, source: str = "payers.toml"):
        self.file = payers
        self.source = source
        self._base = {**_packaged_defaults(), **_values(payers.defaults)}
        self.default = self._resolve(None, None)
        self.sections = {name: self._resolve(name, sec) for name, sec in payers.payers.items()}

    def _resolve(self, name: str | None, section: PayerSection | None) -> tuple[Policy, dict[str, CodeRule]]:
        values = {**self._base, **(_values(section) if section else {})}
        policy = Policy(section=name, kind=section.kind if section else "commercial", **values)
        codes: dict[str, CodeRule] = {}
        names = {c.upper() for c in self.file.defaults.codes} | {c.upper() for c in (section.codes if section else {})}
        for code in sorted(names):
            merged: dict[str, Any] = {}
            for layer in (self.file.defaults.codes, section.codes if section else {}):
                for key, sec in layer.items():
                    if key.upper() == code:
                        merged.update(sec.model_dump(exclude_none=True))
            where = f"payers.{name}.codes.{code}" if section and code in {c.upper() for c in section.codes} else f"defaults.codes.{code}"
            duration = {"min_minutes", "unit_minutes", "unit_rounding", "max_units_per_day"} & merged.keys()
            if "unit" not in merged and duration:
                raise ConfigError(self.source, f"{where}.unit", "is required (day, session or time)")
            merged.setdefault("unit", "session")  # a code section naming only add_on_to, say
            merged = {k: tuple(v) if isinstance(v, list) else v for k, v in merged.items()}
            if merged["unit"] == "time" and not merged.get("unit_minutes"):
                raise ConfigError(self.source, f"{where}.unit_minutes", "is required when unit = \"time\"")
            codes[code] = CodeRule(code=code, **merged)
        # A Medicaid-kind section may not ask for a fee itself. A fee it inherits from [defaults]
        # (meant for self-pay or commercial payers) is simply never given: reconcile refuses a fee
        # to every Medicaid-kind charge at run time.
        for key in ("no_show", "late_cancel"):
            if section is not None and section.kind == "medicaid" and getattr(section, key) == "fee":
                raise ConfigError(self.source, f"payers.{name}.{key}", "a fee is never allowed for kind = \"medicaid\"")
        return policy, codes

    @lru_cache(maxsize=None)
    def section_for(self, payer_name: str) -> str | None:
        """The section with the longest ``match`` string (case-insensitive) found in the payer
        name — a section with no ``match`` list matches on its own name; None: the defaults.

        "UnitedHealthcare Community Plan" goes to a section matching "community plan" rather
        than one matching "united".

        Raises:
            ConfigError: two sections match the name equally long; which one the payer belongs
                to is the program's decision, never a guess. Payer names come from the day's
                exports, so this is found when a charge names such a payer (exit status 2).
        """
        low = (payer_name or "").lower()
        best: dict[str, tuple[int, str]] = {}
        for name, sec in self.file.payers.items():
            needles = [m.lower() for m in sec.match] or [name.lower()]
            hits = [n for n in needles if n.strip() and n in low]
            if hits:
                longest = max(hits, key=len)
                best[name] = (len(longest), longest)
        if not best:
            return None
        top = max(length for length, _ in best.values())
        winners = [name for name, (length, _) in best.items() if length == top]
        if len(winners) > 1:
            keys = " and ".join(f"payers.{w}.match ({best[w][1]!r})" for w in winners)
            raise ConfigError(self.source, keys,
                              f"payer name {payer_name!r} matches sections {', '.join(winners)} equally "
                              f"(longest match {top} characters): make one match string longer or more specific")
        return winners[0]

    @lru_cache(maxsize=None)
    def policy_for(self, payer_name: str, code: str) -> Policy:
        """The rules for one charge: its payer's section (or the defaults) and its code's rule.

        Raises:
            ConfigError: the payer name matches two sections equally (:meth:`section_for`).
        """
        section = self.section_for(payer_name)
        policy, codes = self.sections[section] if section is not None else self.default
        rule = codes.get(code.upper())
        sizes = {} if rule is None else {k: getattr(rule, k) for k in ("max_group_size", "min_group_size")
                                         if getattr(rule, k) is not None}
        return replace(policy, rule=rule, **sizes)


@dataclass(frozen=True)
class Settings:
    """The validated configuration, with paths resolved and command-line overrides applied."""

    main: MainFile
    payers: PayerBook
    config_path: Path
    inbox: Path
    db: Path
    audit_dir: Path
    rosters_dir: Path | None = None  # where `serve` prints the next business day's rosters; None: it does not

    @property
    def program(self) -> ProgramSection:
        return self.main.program

    @property
    def slack(self) -> SlackSection:
        return self.main.slack

    @cached_property
    def slack_token(self) -> str:
        return os.environ.get("SLACK_BOT_TOKEN", "").strip()

    def columns(self, kind: str) -> dict[str, list[str]]:
        return self.main.columns.get(kind, {})

    @cached_property
    def carc(self) -> dict[str, str]:
        """Gap code -> the likely denial reason if it goes out unfixed: the defaults shipped in
        ``attendbot/samples/carc.toml``, overridden by ``[carc]`` (``""`` blanks one)."""
        merged = {**packaged_carc(), **self.main.carc}
        return {code: text for code, text in merged.items() if text.strip()}


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), None, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), None, f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot be read: {exc.strerror}") from None


SECRET_PROBLEM = "looks like a secret: put it in the SLACK_BOT_TOKEN environment variable, never in a file"
#: Slack tokens: bot, user, app-level, refresh, configuration (``xoxe.xoxp-…`` holds ``xoxp-``).
_SLACK_TOKEN = re.compile(r"xox[abposre]-[0-9A-Za-z]|xapp-[0-9A-Za-z]")
_SECRET_WORDS = {"token", "tokens", "secret", "secrets", "password", "passwd", "passphrase", "apikey"}
#: How a key that is itself a token is named in the error (the key is never repeated).
TOKEN_KEY = "<a key that looks like a Slack token>"
#: Tables whose keys are names people chose (a facilitator, a payer), not settings.
_NAME_KEYS = {("slack", "facilitators"), ("payers",)}


def _secret_key(key: str) -> bool:
    words = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
    parts = words.split("_")
    return bool(_SECRET_WORDS.intersection(parts)) or "api_key" in words


def _refuse_secrets(data: Any, source: str, where: tuple[str, ...] = ()) -> None:
    """Raise ConfigError naming the first key whose name or value looks like a secret.

    The value itself is never repeated in the message: it would land in logs and terminals.
    """
    if isinstance(data, dict):
        for key, value in data.items():
            if _SLACK_TOKEN.search(str(key)):  # a token used as a key (a facilitator's name, say): never echoed
                raise ConfigError(source, ".".join((*where, TOKEN_KEY)), SECRET_PROBLEM)
            path = (*where, str(key))
            if where not in _NAME_KEYS and _secret_key(str(key)):
                raise ConfigError(source, ".".join(path), SECRET_PROBLEM)
            _refuse_secrets(value, source, path)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _refuse_secrets(value, source, (*where, str(i)))
    elif isinstance(data, str) and _SLACK_TOKEN.search(data):
        raise ConfigError(source, ".".join(where) or None, SECRET_PROBLEM)


def _validate(model: type[BaseModel], data: dict, source: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or None
        if err["type"] == "extra_forbidden":
            problem = "unknown key"
        else:
            problem = err["msg"].removeprefix("Value error, ")
            if "input" in err and err["type"] not in ("missing",) and not isinstance(err["input"], dict):
                problem += f" (got {err['input']!r})"
        raise ConfigError(source, key, problem) from None


def load(config_path: str | os.PathLike | None = None, *, inbox: str | None = None,
         db: str | None = None, audit_dir: str | None = None, base: Path | None = None) -> Settings:
    """Load both files; ``payers.toml`` sits beside ``attendbot.toml``.

    Raises:
        ConfigError: the file, key and problem of the first thing that is wrong; a secret
            in either file is reported before anything else.
    """
    base = base or Path.cwd()
    path = Path(config_path) if config_path else DEFAULT_CONFIG
    if not path.is_absolute():
        path = base / path
    main_raw = _read_toml(path)
    _refuse_secrets(main_raw, _shown(path, base))
    payers_path = path.parent / "payers.toml"
    payers_raw = _read_toml(payers_path)  # missing: exit 2, never rules silently absent
    _refuse_secrets(payers_raw, _shown(payers_path, base))
    main = _validate(MainFile, main_raw, _shown(path, base))
    book = PayerBook(_validate(PayersFile, payers_raw, _shown(payers_path, base)), _shown(payers_path, base))

    def resolve(value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else base / p

    settings = Settings(
        main=main, payers=book, config_path=path,
        inbox=resolve(inbox or main.paths.inbox),
        db=resolve(db or main.paths.db),
        audit_dir=resolve(audit_dir or main.paths.audit_dir),
        rosters_dir=resolve(main.rosters.folder) if main.rosters.folder.strip() else None,
    )
    _refuse_unsafe_inbox(settings, _shown(path, base), "--inbox" if inbox else "paths.inbox")
    return settings


def _refuse_unsafe_inbox(settings: Settings, source: str, key: str) -> None:
    """The inbox is a folder of its own: attendbot moves unreadable files out of it, so it is never
    the filesystem root or a home folder, and never holds the ledger, the audit folder, the
    quarantine or the printed rosters (attendbot would read, move or quarantine its own files: a
    printed roster is a sign-in sheet nobody has signed)."""
    inbox = settings.inbox.resolve()
    advice = "give attendbot an inbox folder of its own (it moves unreadable files out of it)"
    if inbox == Path(inbox.anchor):
        raise ConfigError(source, key, f"{settings.inbox} is the filesystem root: {advice}")
    homes = _home_folders()
    if inbox in homes:
        raise ConfigError(source, key, f"{settings.inbox} is a home folder: {advice}")
    inside = sorted(h for h in homes if inbox in h.parents)
    if inside:
        raise ConfigError(source, key, f"{settings.inbox} holds home folders ({inside[0]}): {advice}")
    rosters = [("the rosters folder (rosters.folder)", settings.rosters_dir)] if settings.rosters_dir else []
    for what, place in (("the ledger", settings.db), ("the audit folder (paths.audit_dir)", settings.audit_dir),
                        ("the quarantine folder", settings.inbox.parent / "quarantine"), *rosters):
        where = place.resolve()
        if where == inbox or inbox in where.parents:
            raise ConfigError(source, key, f"{settings.inbox} contains {what} ({place}): keep the inbox "
                                           "apart from attendbot's own files, or it would read them as inputs")


def _home_folders() -> set[Path]:
    """Every user's home folder (``pwd``, where there is one) and this user's."""
    homes = set()
    try:
        homes.add(Path.home().resolve())
    except (RuntimeError, KeyError, OSError):
        pass
    try:
        import pwd

        homes.update(Path(p.pw_dir).resolve() for p in pwd.getpwall() if p.pw_dir and p.pw_dir != "/")
    except (ImportError, OSError):
        pass
    return homes


def _shown(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
