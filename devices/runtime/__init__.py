"""Shared device-agent runtime: MQTT session with Will, durable outbox, commands, requests."""

from devices.runtime.agent import DeviceAgent, UnknownEventType
from devices.runtime.commands import CommandUnsupported
from devices.runtime.executor import Runtime, default_runtime
from devices.runtime.outbox import Outbox
from devices.runtime.requests import RequestTimeout

__all__ = ["CommandUnsupported", "DeviceAgent", "Outbox", "RequestTimeout", "Runtime", "UnknownEventType",
           "default_runtime"]
