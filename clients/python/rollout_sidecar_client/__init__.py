"""Client for Rollout Sidecar: ask which version serves a request, fall back to V1, report outcomes.

    client = SidecarClient("unix:/run/rollout-sidecar/sidecar.sock")
    result = client.call("checkout-v2", {"targetingKey": user_id}, v1=old_checkout, v2=new_checkout)

The client never raises into the service because of the sidecar: when the sidecar is unreachable or slow,
``route`` answers V1 after a short timeout, flag helpers (``bool_value`` and the others) answer their default,
and outcomes are dropped (and counted) rather than queued forever; after a few failures a client-side circuit
answers at once, without waiting, until the sidecar answers again.
"""

from rollout_sidecar_client.client import Route, SidecarClient
from rollout_sidecar_client.context import to_json_context
from rollout_sidecar_client.flags import FlagDetails

__all__ = ["FlagDetails", "Route", "SidecarClient", "to_json_context"]
