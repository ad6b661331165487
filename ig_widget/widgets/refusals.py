"""A change from the view that the kernel refuses is answered, not only logged."""

from __future__ import annotations

import traitlets


class AnswersRefusals:
    """Mixed in before `anywidget.AnyWidget`: when a trait's validator refuses a value the view sent, the
    view gets the kernel's values back (its control snaps back) and a `refused` message naming the traits
    and why, so it never shows a state the kernel is not in."""

    def set_state(self, sync_data: dict) -> None:
        try:
            super().set_state(sync_data)
        except traitlets.TraitError as exc:
            names = [name for name in sync_data if name in self.keys]
            self.send_state(names)
            self.send({"type": "refused", "names": names, "message": str(exc)})
