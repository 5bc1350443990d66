"""The snntrace trace-format specification (SPEC.md, JSON Schemas, conformance corpus), shipped as package data."""
