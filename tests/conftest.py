"""Shared fixtures: real brokers (tests/fixtures/brokers.py) and more as features land."""

pytest_plugins = ["tests.fixtures.brokers", "tests.fixtures.cups", "tests.fixtures.secure_mosquitto",
                  "tests.fixtures.hub", "tests.fixtures.hub_http", "tests.fixtures.face",
                  "tests.fixtures.secure_hub"]
