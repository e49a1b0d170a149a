"""Guarded lifecycles: which moves a state machine allows, and the 409 that names them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.errors import Conflict


class Lifecycle:
    """The allowed moves of one kind of record (a tool, a pilot, ...)."""

    def __init__(self, noun: str, transitions: Mapping[str, Iterable[str]]) -> None:
        self.noun = noun
        self.transitions = {state: frozenset(targets) for state, targets in transitions.items()}

    def allowed(self, current: str) -> frozenset[str]:
        """The states reachable from `current` in one move."""
        return self.transitions.get(current, frozenset())

    def check(self, current: str, target: str) -> None:
        """Raise Conflict (409) naming the allowed moves unless `current -> target` is one."""
        allowed = self.allowed(current)
        if target not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            raise Conflict(
                f"a {current} {self.noun} cannot move to {target}; allowed: {names}",
                current_status=current,
                allowed=sorted(allowed),
            )
