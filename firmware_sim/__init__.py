"""Simulated fleet: door terminals and print boxes from the same devices/ code, simulated adapters."""
