"""Register checks: a decorator attaches a code, severity and scope to a check function.

Decorating only annotates the function; nothing is added to a global list at import. The engine collects the
decorated functions of the check modules it names explicitly (:data:`snntrace.validation.engine.CHECK_MODULES`).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from snntrace.validation._model import Rule, Severity

SCOPES = ("trace", "part", "rows")
ATTRIBUTE = "__snntrace_check__"


@dataclass(frozen=True)
class Check:
    """A registered check function and what it reports.

    ``scope`` says what the function receives: ``trace`` -> ``fn(ctx)``, ``part`` -> ``fn(ctx, part)`` once per
    Parquet part (its schema), ``rows`` -> ``fn(ctx, batch, state)`` for every record batch of a part in table
    order, ``state`` being a dict private to this check and table. ``tables`` limits part and row checks.
    """

    rule: Rule
    scope: str
    function: Callable
    tables: tuple[str, ...] | None

    @property
    def name(self) -> str:
        """Return the qualified name of the check function."""
        return f"{self.function.__module__}.{self.function.__name__}"


def check(code: str, severity: Severity, summary: str, *, scope: str = "trace", tables: Iterable[str] | None = None):
    """Mark a function as a check reporting ``code``; it yields :class:`~snntrace.validation._model.Problem`."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")

    def decorate(function: Callable) -> Callable:
        setattr(function, ATTRIBUTE, Check(Rule(code, Severity(severity), summary), scope, function, tuple(tables) if tables else None))
        return function

    return decorate


def collect(modules: Iterable[types.ModuleType]) -> list[Check]:
    """Return the checks defined in ``modules``, in definition order."""
    found = []
    for module in modules:
        for value in vars(module).values():
            registered = getattr(value, ATTRIBUTE, None)
            if isinstance(registered, Check) and registered.function.__module__ == module.__name__:
                found.append(registered)
    return found
