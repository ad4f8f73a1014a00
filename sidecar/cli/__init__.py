"""The ``sidecar`` command line."""
