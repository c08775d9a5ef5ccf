"""Outputs of a reconciled day: the audit workbook, Slack messages, the --json document."""
