"""The flag set OpenFeature providers are tested against: one flag of each type, one disabled."""

from __future__ import annotations

from typing import Any

from tests.support.flagfiles import boolean_flag

FLAGS: dict[str, Any] = {
    "new-checkout": boolean_flag(
        targeting={"if": [{"$ref": "is-beta"}, "on", None]}, metadata={"owner": "ann"}
    ),
    "greeting": {"state": "ENABLED", "variants": {"hi": "hello", "yo": "hey"}, "defaultVariant": "hi"},
    "max-items": {"state": "ENABLED", "variants": {"few": 3, "many": 30}, "defaultVariant": "few"},
    "ratio": {"state": "ENABLED", "variants": {"low": 0.25, "high": 0.75}, "defaultVariant": "high"},
    "theme": {"state": "ENABLED", "variants": {"dark": {"bg": "black", "size": 2}}, "defaultVariant": "dark"},
    "retired": boolean_flag("on", state="DISABLED"),
}
# The file's top level: an evaluator the targeting refers to, and flag-set metadata every flag inherits.
TOP: dict[str, Any] = {
    "$evaluators": {"is-beta": {"in": [{"var": "email"}, ["ann@example.com", "bob@example.com"]]}},
    "metadata": {"flagSetId": "shop", "team": "checkout"},
}
