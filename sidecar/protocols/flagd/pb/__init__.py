"""Generated code of package sidecar.protocols.flagd.pb (from proto/flagd)."""
