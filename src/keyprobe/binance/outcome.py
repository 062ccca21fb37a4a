"""``Outcome``: an answer reduced to what a check compares, the one ``(status, code,
message)`` type of the wire contract; its family comes from the error catalogue beside it."""

from __future__ import annotations

from dataclasses import dataclass

from keyprobe.binance.errors import CATALOGUE, Family


@dataclass(frozen=True, slots=True)
class Outcome:
    """An answer reduced to what a check compares: HTTP status, Binance code (None for a
    success or a bare body) and message. As an expectation ``message`` is a prefix (spot may
    append details such as the caller's IP); None means any message."""

    status: int
    code: int | None = None
    message: str | None = None

    def label(self) -> str:
        """``(401, -2015)``, ``(200, -)``: how verdict reasons print an outcome."""
        return f"({self.status}, {'-' if self.code is None else self.code})"

    def short(self) -> str:
        """``401/-2015``, ``200``: how the matrix prints an outcome."""
        return str(self.status) if self.code is None else f"{self.status}/{self.code}"

    @property
    def family(self) -> Family | None:
        """The catalogue's family of the code; None for no code or one keyprobe does not know."""
        spec = CATALOGUE.get(self.code) if self.code is not None else None
        return None if spec is None else spec.family

    def matches(self, actual: Outcome) -> bool:
        """Whether ``actual`` is this expectation: same status and code, message prefix."""
        if actual.status != self.status or actual.code != self.code:
            return False
        return self.message is None or (actual.message or "").startswith(self.message)


OK = Outcome(200)
