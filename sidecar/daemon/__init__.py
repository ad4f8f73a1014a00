"""The composition root: settings from flags and variables, the object graph, and how it runs.

Only the CLI imports this package; everything else is imported by it.
"""
