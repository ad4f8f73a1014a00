"""Peer sync: sidecars of one group share admin-written records, rollout state, outcome counts and audit."""
