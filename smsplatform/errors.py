"""One base for the errors our services raise on purpose (docs/architecture.md, "Errors").

A domain error carries what every caller needs to answer it: a machine ``code`` (the API's ``code``
beside ``detail``, docs/api.md "Errors"), the HTTP status it stands for, and a ``detail`` a person can
read. The API's exception handler and the pages render any of them the same way, so a service that
adds a new refusal adds a subclass here or in its app, never a new ``except`` branch in each view
(the shape follows Zulip's ``JsonableError``).
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal a service raises knowingly; nothing was written when it is raised."""

    code: str = "error"
    http_status: int = 400

    def __init__(self, detail: str, *, code: str | None = None, http_status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if http_status:
            self.http_status = http_status

    def data(self) -> dict:
        """The API body: ``detail`` and ``code``, plus what a subclass adds for clients to act on."""
        return {"detail": self.detail, "code": self.code}
