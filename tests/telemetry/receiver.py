"""Imports tests/otlp_receiver.py whether or not ``tests`` itself is a package."""

try:
    from tests.otlp_receiver import (
        HistogramValue,
        OtlpReceiver,
        attributes,
        otlp_receiver,
        unused_local_endpoint,
    )
except ModuleNotFoundError:  # tests/ is a rootdir on sys.path, not a package
    from otlp_receiver import (  # type: ignore[no-redef]
        HistogramValue,
        OtlpReceiver,
        attributes,
        otlp_receiver,
        unused_local_endpoint,
    )

__all__ = ["HistogramValue", "OtlpReceiver", "attributes", "otlp_receiver", "unused_local_endpoint"]
