"""18.0.1.3.0: processed status callbacks keep what they made of their SMS in ``status_outcome``
(before, only as the text after ': ' in ``result``, which the screen parsed)."""


def migrate(cr, version):
    if not version:
        return
    cr.execute("""
        UPDATE didww_webhook_event
           SET status_outcome = split_part(result, ': ', 2)
         WHERE kind = 'status' AND state = 'done' AND status_outcome IS NULL
           AND split_part(result, ': ', 2) IN ('sent', 'delivered', 'error', 'ignored')
    """)
