"""Generated code of package sidecar.protocols.flagd.pb.sync (from proto/flagd)."""
