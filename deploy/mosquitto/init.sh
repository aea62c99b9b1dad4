#!/bin/sh
# Create the dynamic-security config once, with the admin and the hub's accounts.
set -eu
CONF=/mosquitto/data/dynamic-security.json
if [ ! -f "$CONF" ]; then
  mosquitto_ctrl dynsec init "$CONF" "$MQTT_ADMIN_USER" "$MQTT_ADMIN_PASSWORD"
  chown mosquitto:mosquitto "$CONF" 2>/dev/null || true
fi
