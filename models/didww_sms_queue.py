"""The queue's pipeline for one DIDWW company's SMS (called by ``sms.sms._send``).

While DIDWW answers one chunk, the next chunk's requests are already in flight
(``DidwwSmsApi._didww_submit``) and Odoo records the answers of this one (``_send_with_api``).
Queue runs (only them, like ``sms.send(auto_commit=True)``) commit each chunk as "process" before
its requests leave, and the answers after; a run that dies in between leaves "process" rows
(``didww_sms_not_sent.fail_interrupted``), never an SMS sent twice. The client's threads only do HTTP:
every database access stays in this thread.
"""

import threading

from odoo import fields
from odoo.tools import SQL, split_every

CHUNK_SIZE = 50  # SMS marked "process" and committed before their requests leave (queue runs)


def send(sms, sms_api, unlink_failed=False, unlink_sent=True, raise_exception=False):
    """Send ``sms`` (``sms.sms``, sudo, due and locked, one company) through ``sms_api``."""
    env = sms.env
    commit = env.context.get("didww_auto_commit") and not getattr(threading.current_thread(), "testing", False)
    if raise_exception:
        sms_api._didww_open()  # an unconfigured trunk raises to the caller instead of failing the SMS
    workers = max(1, sms_api.company.sudo().didww_sms_max_workers or 1)  # sudo: a setting any sender uses
    chunks = list(split_every(max(CHUNK_SIZE, 8 * workers), sms.ids))  # eight rounds of requests a chunk
    sms_api._recorded_by_caller = True
    try:
        ahead = _start(sms.browse(chunks[0]), sms_api, commit) if chunks else None
        for index in range(len(chunks)):
            current = ahead
            ahead = _start(sms.browse(chunks[index + 1]), sms_api, commit) if index + 1 < len(chunks) else None
            if current:
                current._didww_send_with_api(sms_api, unlink_failed=unlink_failed, unlink_sent=unlink_sent,
                                             raise_exception=raise_exception)
                if commit:
                    env.cr.commit()  # pylint: disable=invalid-commit
    finally:
        sms_api._didww_close()
    if sms_api.retry_at:
        # one wake-up of the queue for the whole batch, at the earliest retry
        env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger(at=min(sms_api.retry_at))


def _start(chunk, sms_api, commit):
    """Mark ``chunk`` "process" (and commit it, in a queue run) and start its requests."""
    if commit:
        # the first commit released the batch's row locks: lock this chunk again, so that SMS
        # another run took meanwhile are skipped, not sent twice
        chunk = chunk._didww_lock_ready()
        if not chunk:
            return chunk
        mark_processing(chunk)
        chunk.env.cr.commit()  # pylint: disable=invalid-commit
    sms_api._didww_submit(chunk)
    return chunk


def mark_processing(sms):
    sms.env.cr.execute(SQL(
        "UPDATE sms_sms SET state = 'process', write_date = %s, write_uid = %s WHERE id IN %s",
        fields.Datetime.now(), sms.env.uid, tuple(sms.ids)))
    sms.invalidate_recordset(["state", "write_date", "write_uid"])
