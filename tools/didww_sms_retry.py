"""When an SMS that DIDWW did not accept is tried again (plain Python, no ORM).

A transient failure (429, 5xx, a timeout, a dropped or refused connection) keeps the SMS queued
for a later attempt, a bounded number of times, backing off; anything else fails at once. A
connection refused twice in a row fails too: like an unresolvable host or a failed TLS
handshake, it points at the URL, which retrying will not fix.
"""

from collections import namedtuple

MAX_ATTEMPTS = 6  # first try + 5 retries, spread over about half an hour
BACKOFF_SECONDS = (30, 60, 120, 300, 900)
MAX_RETRY_AFTER = 3600  # DIDWW's Retry-After is honoured up to an hour

# ``retry``: try again in ``delay`` seconds; ``exhausted``: MAX_ATTEMPTS reached; ``refused``: refused
# twice in a row; ``permanent``: sending again will not help
Decision = namedtuple("Decision", "outcome attempts delay kind")


def parse_backoff(value):
    """Seconds before each retry from a comma separated setting (``"1,2,3"``), else :data:`BACKOFF_SECONDS`."""
    try:
        backoff = tuple(max(0.0, float(part)) for part in value.split(",")) if value else ()
    except ValueError:
        backoff = ()
    return backoff or BACKOFF_SECONDS


def decide(error, attempts_done, previous_kind, backoff=BACKOFF_SECONDS):
    """What to do after ``error`` (a ``DidwwError``) on an SMS tried ``attempts_done`` times before,
    whose last attempt failed as ``previous_kind`` (``None``, ``"refused"``, ``"status"``, ...)."""
    attempts = attempts_done + 1
    kind = getattr(error, "kind", None) or "status"
    if not error.transient:
        return Decision("permanent", attempts, None, kind)
    if kind == "refused" and previous_kind == "refused":
        return Decision("refused", attempts, None, kind)
    if attempts >= MAX_ATTEMPTS:
        return Decision("exhausted", attempts, None, kind)
    delay = backoff[min(attempts - 1, len(backoff) - 1)]
    if error.retry_after:
        delay = max(delay, min(error.retry_after, MAX_RETRY_AFTER))
    return Decision("retry", attempts, delay, kind)
