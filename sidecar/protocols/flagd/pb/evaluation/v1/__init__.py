"""Generated code of package sidecar.protocols.flagd.pb.evaluation.v1 (from proto/flagd)."""
