"""No secret and no forged line leaves attendbot: text cleaned before it is stored, logged or posted.

Two helpers every floor may use, and the logging guard built from them:

* :func:`scrub` removes secrets from text: the Slack tokens in the environment
  (``SLACK_BOT_TOKEN``, ``SLACK_APP_TOKEN``), anything shaped like a Slack token
  (``xoxb-…``, ``xoxp-…``, ``xoxe.xoxp-…``, ``xapp-…``) and whatever follows
  ``Bearer``. Error text from Slack, a proxy or a library is scrubbed before it
  lands in the outbox, the run's summary, a log line or a message — an endpoint
  that echoes the ``Authorization`` header in its error body leaks nothing.
* :func:`one_line` removes what could forge or hide text: control characters
  (a newline in a file name would start a new line of the billing summary or
  the log), Unicode line and paragraph separators, and bidirectional overrides
  (which display text in another order than it is stored).

:func:`guard_logging` (installed when the package is imported) scrubs every log
record when it is created — a library's too (slack_sdk logs a response body it
cannot decode, echoed token and all) — and makes the ``attendbot`` loggers'
records one line, so no handler (the console, a file, a test's capture) ever
sees a secret or a forged line.
"""

from __future__ import annotations

import logging
import os
import re

#: The environment variables whose values are secrets.
SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
REDACTED = "[redacted]"

#: Slack tokens: bot, user, app-level, refresh, configuration (``xoxe.xoxp-…``), legacy.
_TOKEN = re.compile(r"\b(xox[a-z]?|xapp)((?:\.xox[a-z]?)?-)[0-9A-Za-z][0-9A-Za-z._~+/=-]*", re.IGNORECASE)
_BEARER = re.compile(r"\b(bearer\s+)[^\s\"',;]+", re.IGNORECASE)
#: C0 and C1 control characters (newline, carriage return, tab, escape …), DEL, line and
#: paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Bidirectional embeddings, overrides and isolates: they show text in another order than it is.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_MIN_SECRET = 8  # a shorter environment value is no token, and replacing it would mangle text


def _env_secrets() -> list[str]:
    values = {os.environ.get(name, "").strip() for name in SECRET_ENV}
    return sorted((v for v in values if len(v) >= _MIN_SECRET), key=len, reverse=True)


def scrub(text: object) -> str:
    """``text`` (made a string) without any secret: the environment's tokens, anything shaped
    like a Slack token, a Bearer credential."""
    out = str(text)
    for secret in _env_secrets():
        out = out.replace(secret, REDACTED)
    out = _TOKEN.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", out)
    return _BEARER.sub(lambda m: f"{m.group(1)}{REDACTED}", out)


def has_secret(text: object) -> bool:
    """True when :func:`scrub` would change ``text``."""
    return scrub(text) != str(text)


def one_line(text: object, replacement: str = " ") -> str:
    """``text`` as one line of plain text: each control character, line separator or tab
    becomes ``replacement``; bidirectional overrides are dropped."""
    text = str(text)
    if _UNSAFE.search(text) is None:  # nearly always: nothing to do
        return text
    return _BIDI.sub("", _CONTROL.sub(replacement, text))


def clean(text: object) -> str:
    """Safe for a log line, a report or Slack: :func:`scrub` and :func:`one_line`."""
    return one_line(scrub(text))


# --- logging ----------------------------------------------------------------------------

_installed = False


def guard_logging() -> None:
    """Clean every record of the ``attendbot`` loggers as it is created: message and arguments
    are rendered, scrubbed and made one line; an exception's traceback text is scrubbed too.
    Records of other libraries are left as they are. Idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _clean_record(record, ours=record.name == "attendbot" or record.name.startswith("attendbot."))
        return record

    logging.setLogRecordFactory(factory)


def _clean_record(record: logging.LogRecord, ours: bool) -> None:
    """Secrets out of every record (a library — slack_sdk, say — may log a response body that
    echoes the token); attendbot's own records are made one line too."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it itself when the record is emitted
        return
    cleaned = clean(message) if ours else scrub(message)
    if cleaned != message or ours:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        if ours or has_secret(text):
            record.exc_text = scrub(text)
