"""attendbot: daily attendance reconciliation for Intensive Outpatient Programs."""

from attendbot.secrets import guard_logging

__version__ = "0.1.0"

#: The custom document property every audit workbook carries (attendbot.outputs.workbook), by
#: which the readers recognise attendbot's own output in the inbox and never read it as input.
AUDIT_WORKBOOK_MARK = "attendbot-audit-workbook"

guard_logging()  # no secret and no forged line in any attendbot log record
