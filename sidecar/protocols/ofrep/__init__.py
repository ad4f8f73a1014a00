"""OFREP, the OpenFeature Remote Evaluation Protocol: flag evaluation as JSON over HTTP."""
