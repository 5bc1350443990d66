"""Validate snntrace traces against the spec: findings with stable codes, severities and structured locations.

    result = validate("run.trace")
    result.ok, result.errors, result.warnings
    for finding in iter_findings("run.trace"): ...

Checks live in ``checks_*`` modules by area and are registered with :func:`~snntrace.validation._registry.check`;
the engine (:mod:`snntrace.validation.engine`) names the modules it runs.
"""

from __future__ import annotations

from snntrace.validation._model import Finding, Location, Rule, Severity, ValidationResult
from snntrace.validation.engine import iter_findings, rules, validate

__all__ = ["Finding", "Location", "Rule", "Severity", "ValidationResult", "iter_findings", "rules", "validate"]
