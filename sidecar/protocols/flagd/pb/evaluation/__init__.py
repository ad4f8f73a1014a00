"""Generated code of package sidecar.protocols.flagd.pb.evaluation (from proto/flagd)."""
