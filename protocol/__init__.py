"""The MQTT device contract shared by the hub, device agents and the simulator.

Importing this package registers every event, request and command body model.
"""

# Feature body modules register themselves on import; keep this list in one place.
from protocol import bodies_door as bodies_door
from protocol import bodies_fleet as bodies_fleet
from protocol import bodies_print as bodies_print
from protocol import events as events
from protocol import payloads as payloads
from protocol import topics as topics
