"""Fleet administration: provisioning, registry, config, firmware rollouts, alerts and webhooks.

Other features raise alerts with ``hub.services.fleet.alerts.raise_alert(rt, kind=…, …)``.
"""
