"""Generated code of package sidecar.protocols.flagd.pb.sync.v1 (from proto/flagd)."""
