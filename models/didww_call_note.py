"""The chatter note of a call: who talked to whom, how long, and how it ended (issue #21).

``didww.call._didww_post_note`` posts it on the call's document (the contact or lead), for the
softphone and the cron; the CDR import adds it for the calls it finds (``_didww_note_body``).
A transfer says who passed the caller to whom, and whether the colleague was asked first
(attended transfer: the call with the colleague is linked to the caller's through
``consult_for_id``, and on the colleague's side the caller's call to the one it replaced,
``replaced_call_id``).
"""


def _party(call):
    """The other party of ``call`` in words: "Bob's Desk (1002)", or the number alone."""
    name = call.partner_id.name
    return f"{name} ({call.number})" if name and name != call.number else call.number


def note_body(call):
    env = call.env
    state = dict(call._fields["state"]._description_selection(env))[call.state]
    who_ended = {"local": env._("hung up by %s", call.user_id.name),
                 "remote": env._("hung up by the other party")}.get(call.end_cause, "")
    values = {"number": call.number, "user": call.user_id.name, "duration": call.duration_display,
              "reason": call.failure_reason or state, "state": state, "ended": who_ended}
    if call.state == "done":
        return _done_body(call, values)
    if call.state == "dropped":
        return env._("Call with %(number)s (%(user)s) dropped after %(duration)s: %(reason)s", **values)
    if call.state == "interrupted":
        return env._("Call with %(number)s (%(user)s) interrupted after %(duration)s: the softphone's "
                     "browser stopped answering", **values)
    if call.state == "failed":
        return env._("Call to %(number)s by %(user)s failed: %(reason)s", **values)
    if call.direction == "incoming":
        return env._("Missed call from %(number)s (for %(user)s)", **values)
    return env._("Call to %(number)s by %(user)s: not answered (%(state)s)", **values)


def _done_body(call, values):
    env = call.env
    if call.consult_for_id:  # the user asked a colleague first, in the middle of a call
        values["caller"] = _party(call.consult_for_id)
        if call.end_cause == "transferred":
            return env._("%(user)s asked %(number)s first about the call with %(caller)s (%(duration)s), then "
                         "transferred that call to them", **values)
        return env._("%(user)s asked %(number)s first about the call with %(caller)s (%(duration)s), then went "
                     "back to the caller", **values)
    if call.end_cause == "transferred":
        consult = call.consult_ids.filtered(lambda c: c.end_cause == "transferred")[-1:]
        if consult:
            return env._("Call with %(number)s: %(user)s talked to them for %(duration)s, asked %(colleague)s "
                         "first, then transferred the call to them", colleague=_party(consult), **values)
        return env._("Call with %(number)s: %(user)s talked to them for %(duration)s, then transferred "
                     "the call to %(target)s", target=call.transfer_target or "?", **values)
    if call.end_cause == "transferred_by_them":
        return env._("Call with %(number)s: %(user)s talked to them for %(duration)s, then they "
                     "transferred %(user)s to %(target)s", target=call.transfer_target or "?", **values)
    if call.end_cause == "replaced":
        return env._("Call from %(number)s answered by %(user)s, %(duration)s: they asked %(user)s first, "
                     "then transferred their caller to %(user)s", **values)
    if call.replaced_call_id:
        values["by"] = _party(call.replaced_call_id)
        if values["ended"]:
            return env._("Incoming call from %(number)s transferred to %(user)s by %(by)s after asking first, "
                         "%(duration)s, %(ended)s", **values)
        return env._("Incoming call from %(number)s transferred to %(user)s by %(by)s after asking first, "
                     "%(duration)s", **values)
    if call.direction == "outgoing":
        if values["ended"]:
            return env._("Outgoing call to %(number)s by %(user)s, %(duration)s, %(ended)s", **values)
        return env._("Outgoing call to %(number)s by %(user)s, %(duration)s", **values)
    if values["ended"]:
        return env._("Incoming call from %(number)s answered by %(user)s, %(duration)s, %(ended)s", **values)
    return env._("Incoming call from %(number)s answered by %(user)s, %(duration)s", **values)
