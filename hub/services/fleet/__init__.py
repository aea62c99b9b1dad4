"""Fleet administration: provisioning, registry, config, firmware rollouts, webhooks.

Alerts are not fleet's: every feature raises them through ``hub.services.alerts``.
"""
