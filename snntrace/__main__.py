"""Run the snntrace command line: ``python -m snntrace``."""

from snntrace.cli import main

main()
