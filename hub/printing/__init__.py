"""Print adapters on the hub side: document checks and conversion (``documents``)."""
