"""The application: command line, comparisons, sweeps and networks (composes sim and analysis)."""
