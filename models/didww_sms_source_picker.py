"""The number an outbound SMS leaves from (:class:`SourcePicker`), built by
``didww.sms.number._source_picker``."""

from ..tools import phone


class SourcePicker:
    """Chooses the number an SMS leaves from, per the interface contract, without queries:

    1. a live conversation with the destination that the sender holds, or on one of their numbers
       (any live one when there is no sender, and for mass SMS);
    2. a number assigned to the sender, in the destination's country first;
    3. the company's first active number.
    """

    def __init__(self, numbers, assigned, live_by_remote):
        self.numbers = numbers
        self.assigned = assigned
        self.live_by_remote = live_by_remote
        self._numbers_of = {}

    def numbers_of(self, user):
        if user.id not in self._numbers_of:  # once per user for a whole batch
            self._numbers_of[user.id] = self.numbers.filtered(lambda number: user in self.assigned[number])
        return self._numbers_of[user.id]

    def pick(self, user, destination, any_conversation=False):
        return self.pick_with_reason(user, destination, any_conversation)[0]

    def pick_with_reason(self, user, destination, any_conversation=False):
        """``(number, reason)``: the number :meth:`pick` returns and which rule chose it,
        ``"conversation"``, ``"user"`` or ``"company"`` (``None`` when there is no number).
        ``any_conversation``: any live conversation with the destination wins, whoever holds it
        (mass SMS: the customer keeps texting one number, and replies reach its holder)."""
        for session in self.live_by_remote.get(destination, ()):
            if not user or any_conversation or self.may_hold(session.number_id, user, session):
                return session.number_id, "conversation"
        mine = self.numbers_of(user) if user else self.numbers.browse()
        if mine:
            region = phone.country_of(destination)
            same_country = mine.filtered(lambda n: n.country_id.code == region) if region else mine.browse()
            return (same_country or mine)[:1], "user"
        # the company's numbers nobody in particular has first: a number given to a colleague is theirs
        free = self.numbers.filtered(lambda number: not self.assigned.get(number))
        return (free or self.numbers)[:1], "company" if self.numbers else None

    def may_hold(self, number, user, session=None):
        """Whether ``user`` may keep a conversation on ``number``: the number is assigned to them,
        or to nobody (then only the conversation's holder keeps it). A number taken away from a
        user ends their conversations on it at once."""
        assigned = self.assigned.get(number)
        if assigned:
            return user in assigned
        return session is None or session.user_id == user
