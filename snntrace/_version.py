"""The one place that says which versions snntrace is (golden tests scrub these)."""

__version__ = "0.1.0"
SPEC_VERSION = "1.0"
