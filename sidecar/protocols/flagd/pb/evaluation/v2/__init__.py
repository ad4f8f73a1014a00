"""Generated code of package sidecar.protocols.flagd.pb.evaluation.v2 (from proto/flagd)."""
