def migrate(cr, version):
    """``didww_api_version`` was free text (empty: DIDWW's account default, with the ``Api-Key``
    header); it is now a choice between the versions the addon speaks, 2026-04-16 (``Api-Key``)
    and 2026-11-19 (bearer tokens). A company with an API key keeps the scheme it used: an empty,
    older or unreadable value becomes 2026-04-16; 2026-11-19 or later becomes 2026-11-19. A
    company without a key gets the newest."""
    cr.execute(r"""
        UPDATE res_company
           SET didww_api_version = CASE
                   WHEN didww_api_version ~ '^\s*\d{4}-\d{2}-\d{2}\s*$' AND trim(didww_api_version) >= '2026-11-19'
                       THEN '2026-11-19'
                   WHEN coalesce(didww_api_key, '') != '' THEN '2026-04-16'
                   ELSE '2026-11-19'
               END
         WHERE didww_api_version IS NULL OR didww_api_version NOT IN ('2026-04-16', '2026-11-19')
    """)
