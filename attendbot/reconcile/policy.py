"""What a payer's and a code's rules are, in reconciliation's own words.

``config`` builds these from ``payers.toml`` (defaults → payer section → code
section); ``reconcile`` reads nothing else. A rule checks fields of a
:class:`Policy` — never a payer's or a code's name — so payer rules stay data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CodeRule:
    """How a code is billed, resolved for one payer: its unit and duration rule."""

    code: str
    unit: str  # day (per diem) | session | time
    min_minutes: int = 0
    unit_minutes: int | None = None
    unit_rounding: str = "8-minute"  # 8-minute | full
    max_units_per_day: int | None = None
    max_group_size: int | None = None  # overrides the payer's for this code; 0: no cap
    min_group_size: int | None = None
    down_code: str | None = None
    attendance: str = "required"  # required | not_required (family therapy without the patient)
    add_on_to: tuple[str, ...] = ()
    revenue_codes: tuple[str, ...] = ()

    @property
    def needs_minutes(self) -> bool:
        return self.unit == "time" or self.min_minutes > 0


@dataclass(frozen=True)
class Policy:
    """Every rule that applies to one charge: its payer's rules, flat, and its code's rule.

    ``section`` is the ``payers.toml`` section the payer name resolved to (None: the
    defaults only); ``rule`` is None when neither the payer nor the defaults name the code.
    """

    section: str | None
    kind: str
    max_group_size: int  # 0: no cap; the code's own, where its section sets one
    min_group_size: int
    telehealth_modifiers: tuple[str, ...]
    audio_modifiers: tuple[str, ...]
    telehealth_pos: tuple[str, ...]
    no_show: str
    no_show_fee: float
    late_cancel: str
    late_cancel_fee: float
    same_day_exclusive: tuple[tuple[str, ...], ...]
    distinct_service_modifiers: tuple[str, ...]
    require_signed_note: bool
    require_signature: bool
    requires_auth: bool
    weekly_min_hours: float
    weekly_min_days: int
    repeat_no_show: tuple[int, int]
    review_reminder_business_days: int
    rule: CodeRule | None = None


#: ``policy_for(payer name as exported, code)``: what reconcile is given instead of the config.
PolicyFor = Callable[[str, str], Policy]
