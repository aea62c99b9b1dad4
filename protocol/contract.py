"""The topic table of the contract, as data: used by docgen and by tests."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from protocol import payloads as p


@dataclass(frozen=True, slots=True)
class TopicSpec:
    pattern: str
    direction: str
    qos: int
    retained: str
    model: type[BaseModel]
    purpose: str


D = "office/v1/devices/{device_id}"

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("office/v1/hub/state", "hub → all", 1, "yes (Will: offline)", p.HubState,
              "Hub availability."),
    TopicSpec(f"{D}/availability", "device → hub", 1, "yes (Will: offline, same boot_id)", p.Availability,
              "Device availability; an offline Will whose boot_id is not the current one is ignored."),
    TopicSpec(f"{D}/info", "device → hub", 1, "yes", p.DeviceInfo,
              "Birth message: kind, model, firmware, capabilities."),
    TopicSpec(f"{D}/state", "device → hub", 1, "yes", p.DeviceState,
              "Reported configuration (with its version) and live state."),
    TopicSpec(f"{D}/heartbeat", "device → hub", 0, "no", p.Heartbeat,
              "Liveness every `heartbeat_s` (default 30 s); feeds the hub's inactivity timer."),
    TopicSpec(f"{D}/events", "device → hub", 1, "no", p.Event,
              "Events from the device's durable outbox; resent until acked."),
    TopicSpec(f"{D}/events/ack", "hub → device", 1, "no", p.EventAck,
              "Event ids the hub has stored; the device drops them from its outbox."),
    TopicSpec(f"{D}/req/{{action}}", "device → hub", 1, "no", p.Request,
              "Request with a `transaction` id."),
    TopicSpec(f"{D}/res/{{action}}", "hub → device", 1, "no", p.Response,
              "Response carrying the request's `transaction` id."),
    TopicSpec(f"{D}/cmd", "hub → device", 1, "never", p.Command,
              "Command with `command_id` and `expires_at`."),
    TopicSpec(f"{D}/cmd/ack", "device → hub", 1, "no", p.CommandAck,
              "Result of a command."),
)
