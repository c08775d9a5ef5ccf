"""The spec's gap table, as data: every gap code, what it does to billing, who owns it.

This is the one place the table lives. Rules produce gaps by code; a charge's
disposition is the strongest effect among its gaps (void > hold > adjust > ready).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Disposition(IntEnum):
    """Ordered so that ``max()`` picks the strongest."""

    READY = 0
    ADJUST = 1
    HOLD = 2
    VOID = 3

    def __str__(self) -> str:
        return self.name.lower()


class Owner(StrEnum):
    FACILITATOR = "facilitator"
    BILLING = "billing"
    INTAKE = "intake"
    CLINICAL = "clinical"


class GapCode(StrEnum):
    NO_SIGNIN_SHEET = "NO_SIGNIN_SHEET"
    NOT_ON_SIGNIN = "NOT_ON_SIGNIN"
    MISSING_SIGNATURE = "MISSING_SIGNATURE"
    FACILITATOR_SIGNATURE_MISSING = "FACILITATOR_SIGNATURE_MISSING"
    NO_EHR_ATTENDANCE = "NO_EHR_ATTENDANCE"
    ATTENDANCE_CONFLICT = "ATTENDANCE_CONFLICT"
    NOTE_UNSIGNED = "NOTE_UNSIGNED"
    MISSING_TIMES = "MISSING_TIMES"
    SHORT_DURATION = "SHORT_DURATION"
    UNITS_EXCEED_TIME = "UNITS_EXCEED_TIME"
    GROUP_SIZE_EXCEEDED = "GROUP_SIZE_EXCEEDED"
    TELEHEALTH_MODIFIER_MISSING = "TELEHEALTH_MODIFIER_MISSING"
    TELEHEALTH_MODIFIER_UNEXPECTED = "TELEHEALTH_MODIFIER_UNEXPECTED"
    INVALID_NPI = "INVALID_NPI"
    SAME_DAY_CONFLICT = "SAME_DAY_CONFLICT"
    DUPLICATE_CHARGE = "DUPLICATE_CHARGE"
    NO_SHOW = "NO_SHOW"
    LATE_CANCEL = "LATE_CANCEL"
    UNBILLED_ATTENDANCE = "UNBILLED_ATTENDANCE"
    UNMATCHED_SIGNIN_NAME = "UNMATCHED_SIGNIN_NAME"
    UNREADABLE_FILE = "UNREADABLE_FILE"
    NO_CHARGE_EXPORT = "NO_CHARGE_EXPORT"
    NO_EHR_EXPORT = "NO_EHR_EXPORT"
    SCAN_UNCERTAIN = "SCAN_UNCERTAIN"
    PLACE_OF_SERVICE_MISMATCH = "PLACE_OF_SERVICE_MISMATCH"
    GROUP_TOO_SMALL = "GROUP_TOO_SMALL"
    CODE_TIME_MISMATCH = "CODE_TIME_MISMATCH"
    ADD_ON_WITHOUT_PRIMARY = "ADD_ON_WITHOUT_PRIMARY"
    REVENUE_CODE_MISMATCH = "REVENUE_CODE_MISMATCH"
    EXCUSED_ABSENCE = "EXCUSED_ABSENCE"
    AUTH_MISSING = "AUTH_MISSING"
    AUTH_EXPIRED = "AUTH_EXPIRED"
    AUTH_EXHAUSTED = "AUTH_EXHAUSTED"
    AUTH_CODE_NOT_COVERED = "AUTH_CODE_NOT_COVERED"
    CONCURRENT_REVIEW_DUE = "CONCURRENT_REVIEW_DUE"
    REPEAT_NO_SHOW = "REPEAT_NO_SHOW"
    WEEKLY_HOURS_LOW = "WEEKLY_HOURS_LOW"

    @property
    def effect(self) -> Disposition:
        return GAP_TABLE[self][0]

    @property
    def owner(self) -> Owner:
        return GAP_TABLE[self][1]


_F, _B, _I, _C = Owner.FACILITATOR, Owner.BILLING, Owner.INTAKE, Owner.CLINICAL
_HOLD, _ADJ, _VOID, _NONE = Disposition.HOLD, Disposition.ADJUST, Disposition.VOID, Disposition.READY

#: code -> (effect on the charge's disposition, owner). From SPEC.md "Gaps — stable codes".
GAP_TABLE: dict[GapCode, tuple[Disposition, Owner]] = {
    GapCode.NO_SIGNIN_SHEET: (_HOLD, _F),
    GapCode.NOT_ON_SIGNIN: (_HOLD, _F),
    GapCode.MISSING_SIGNATURE: (_HOLD, _F),
    GapCode.FACILITATOR_SIGNATURE_MISSING: (_HOLD, _F),
    GapCode.NO_EHR_ATTENDANCE: (_HOLD, _F),
    GapCode.ATTENDANCE_CONFLICT: (_HOLD, _F),
    GapCode.NOTE_UNSIGNED: (_HOLD, _F),
    GapCode.MISSING_TIMES: (_HOLD, _F),
    GapCode.SHORT_DURATION: (_HOLD, _B),
    GapCode.UNITS_EXCEED_TIME: (_ADJ, _B),
    GapCode.GROUP_SIZE_EXCEEDED: (_HOLD, _B),
    GapCode.TELEHEALTH_MODIFIER_MISSING: (_HOLD, _B),
    GapCode.TELEHEALTH_MODIFIER_UNEXPECTED: (_HOLD, _B),
    GapCode.INVALID_NPI: (_HOLD, _B),
    GapCode.SAME_DAY_CONFLICT: (_HOLD, _B),
    GapCode.DUPLICATE_CHARGE: (_HOLD, _B),
    GapCode.NO_SHOW: (_VOID, _B),
    GapCode.LATE_CANCEL: (_VOID, _B),
    GapCode.UNBILLED_ATTENDANCE: (_NONE, _B),
    GapCode.UNMATCHED_SIGNIN_NAME: (_NONE, _F),
    GapCode.UNREADABLE_FILE: (_NONE, _B),
    GapCode.NO_CHARGE_EXPORT: (_NONE, _B),
    GapCode.NO_EHR_EXPORT: (_NONE, _B),
    GapCode.SCAN_UNCERTAIN: (_HOLD, _F),
    GapCode.PLACE_OF_SERVICE_MISMATCH: (_HOLD, _B),
    GapCode.GROUP_TOO_SMALL: (_HOLD, _B),
    GapCode.CODE_TIME_MISMATCH: (_ADJ, _B),
    GapCode.ADD_ON_WITHOUT_PRIMARY: (_HOLD, _B),
    GapCode.REVENUE_CODE_MISMATCH: (_HOLD, _B),
    GapCode.EXCUSED_ABSENCE: (_VOID, _B),
    GapCode.AUTH_MISSING: (_HOLD, _I),
    GapCode.AUTH_EXPIRED: (_HOLD, _I),
    GapCode.AUTH_EXHAUSTED: (_HOLD, _I),
    GapCode.AUTH_CODE_NOT_COVERED: (_HOLD, _I),
    GapCode.CONCURRENT_REVIEW_DUE: (_NONE, _I),
    GapCode.REPEAT_NO_SHOW: (_NONE, _C),
    GapCode.WEEKLY_HOURS_LOW: (_NONE, _C),
}


def disposition_of(codes) -> Disposition:
    """The strongest effect among a charge's gap codes; ``READY`` when there are none."""
    return max((GapCode(c).effect for c in codes), default=Disposition.READY)
