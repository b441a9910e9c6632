"""DIDWW's call records (CDR exports ``cdr_in`` / ``cdr_out``) read from their ``.csv.gz`` file
(plain Python, no ORM).

The first line names the columns; an export keeps the columns of the API version it was made
under, so rows are read by column name, unknown columns are ignored, and each field has the
names of every version we know (2026-04-16 complete, the first ten of 2026-11-19 ``cdr_in``).
A row that cannot be read (wrong number of fields, no start time, no numbers) is skipped and
counted; it never stops the file.
"""

import csv
import datetime
import gzip
import hashlib
import io
import zlib

START = ("Date/Time Start (UTC)",)
CONNECT = ("Date/Time Connect (UTC)",)
END = ("Date/Time End (UTC)",)
STATUS = ("Status",)
CALL_ID = ("Call ID",)
DISCONNECT_CODE = ("Disconnect Code",)
DISCONNECT_REASON = ("Response", "Disconnect Reason")
# per export type: (the other party, our DID, duration) column names, most recent version first
COLUMNS = {
    "cdr_in": {"remote": ("Source Number", "Source"), "did": ("Destination DID",),
               "duration": ("Duration (sec)",)},
    "cdr_out": {"remote": ("Destination Number",), "did": ("CLI", "Source"),
                "duration": ("Call Duration (sec)",)},
}
DIRECTIONS = {"cdr_in": "incoming", "cdr_out": "outgoing"}
MAX_FIELD = 1000  # characters kept of a text field


class CdrFormatError(ValueError):
    """The file as a whole cannot be read (not gzip, not CSV, or without the columns we need)."""


def parse_time(value):
    """``YYYY-MM-DD HH:MM:SS`` (UTC; a ``T``, fractions and a ``Z`` are tolerated) -> naive UTC
    ``datetime``; ``None`` when empty or unreadable."""
    text = (value or "").strip().replace("T", " ").rstrip("Z")
    if not text:
        return None
    text = text.split(".")[0].split("+")[0]
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _pick(row, names):
    for name in names:
        value = row.get(name)
        if value is not None and value.strip():
            return value.strip()[:MAX_FIELD]
    return ""


def _header_has(header, names):
    return any(name in header for name in names)


def decompress(data):
    """The CSV text of an export file: gzip, or already decompressed by the transport."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise CdrFormatError(f"the export file is not a readable gzip archive ({exc})") from None
    return data.decode("utf-8-sig", errors="replace")


def record_id(export_type, call_id, start, remote, did):
    """A stable id of one call: DIDWW's ``Call ID`` when the file has it, else a digest of what
    identifies the call (type, start, numbers)."""
    if call_id:
        return f"{export_type}:{call_id}"[:120]
    digest = hashlib.sha1(f"{start:%Y-%m-%d %H:%M:%S}|{remote}|{did}".encode()).hexdigest()[:24]
    return f"{export_type}:{digest}"


def read_records(data, export_type):
    """``(records, skipped)``: the calls of an export file and how many rows could not be read.

    Each record: ``cdr_id``, ``direction`` (``incoming`` / ``outgoing``), ``remote`` and ``did``
    (as DIDWW wrote them), ``start``, ``answered_at`` (``None``: not answered), ``duration``
    (seconds, from the file or connect-to-end), ``disposition`` (DIDWW's status, with the
    disconnect code and reason when given). Rows with the same id (attempts of one call, or a
    row repeated) give one record, the answered one first.

    :raises CdrFormatError: not a CSV of calls of that type.
    """
    if export_type not in COLUMNS:
        raise CdrFormatError(f"unknown export type {export_type!r}")
    names = COLUMNS[export_type]
    reader = csv.reader(io.StringIO(decompress(data), newline=""))
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        return [], 0
    except csv.Error as exc:
        raise CdrFormatError(f"the export file is not CSV ({exc})") from None
    missing = [label for label, wanted in (("start time", START), ("caller or called number", names["remote"]),
                                           ("DIDWW number", names["did"])) if not _header_has(header, wanted)]
    if missing:
        raise CdrFormatError("the export file has no column for: " + ", ".join(missing))
    records, skipped = {}, 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error:
            skipped += 1
            continue
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # a blank line
        if len(fields) != len(header):
            skipped += 1
            continue
        row = dict(zip(header, fields, strict=True))
        record = _record(row, export_type, names)
        if record is None:
            skipped += 1
            continue
        known = records.get(record["cdr_id"])
        if known is None or (record["answered_at"] and not known["answered_at"]):
            records[record["cdr_id"]] = record
    return list(records.values()), skipped


def _record(row, export_type, names):
    start = parse_time(_pick(row, START))
    remote, did = _pick(row, names["remote"]), _pick(row, names["did"])
    if start is None or not remote or not did:
        return None
    answered_at = parse_time(_pick(row, CONNECT))
    end = parse_time(_pick(row, END))
    duration_text = _pick(row, names["duration"])
    if duration_text:
        try:
            duration = int(float(duration_text))
        except ValueError:
            return None
    else:
        duration = int((end - answered_at).total_seconds()) if answered_at and end and end > answered_at else 0
    if duration < 0:
        return None
    if answered_at is None and duration > 0:
        answered_at = (end - datetime.timedelta(seconds=duration)) if end else start
    status = _pick(row, STATUS)
    details = " ".join(part for part in (_pick(row, DISCONNECT_CODE), _pick(row, DISCONNECT_REASON)) if part)
    disposition = f"{status} ({details})" if status and details else (status or details)
    return {
        "cdr_id": record_id(export_type, _pick(row, CALL_ID), start, remote, did),
        "direction": DIRECTIONS[export_type], "remote": remote, "did": did, "start": start,
        "answered_at": answered_at, "duration": duration, "disposition": disposition[:200],
    }
