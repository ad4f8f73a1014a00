"""Client for Rollout Sidecar: ask which version serves a request, fall back to V1, report outcomes.

    client = SidecarClient("unix:/run/rollout-sidecar/sidecar.sock")
    result = client.call("checkout-v2", {"targetingKey": user_id}, v1=old_checkout, v2=new_checkout)

The client never raises into the service because of the sidecar: when the sidecar is unreachable or slow,
``route`` answers V1 after a short timeout and outcomes are dropped (and counted) rather than queued forever.
"""

from rollout_sidecar_client.client import Route, SidecarClient

__all__ = ["Route", "SidecarClient"]
