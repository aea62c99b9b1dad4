"""Broker adapters: per-device credentials and ACLs."""
