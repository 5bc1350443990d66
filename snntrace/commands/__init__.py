"""One module per ``snntrace`` subcommand."""
