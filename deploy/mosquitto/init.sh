#!/bin/sh
# Create the dynamic-security config once, with the admin and the hub's accounts; copy the TLS
# certificate and key (every start, so renewed ones are picked up) to where the broker's own user,
# which it drops to before loading them, may read them.
set -eu
for f in ca.pem server.pem server.key; do
  if [ ! -f "/certs/$f" ]; then
    echo "deploy/certs/$f is missing: run 'officehub certs --host <site name>' (docs/deploy.md, TLS)" >&2
    exit 1
  fi
done
mkdir -p /mosquitto/certs
cp /certs/ca.pem /certs/server.pem /certs/server.key /mosquitto/certs/
chown -R mosquitto:mosquitto /mosquitto/certs 2>/dev/null || true
chmod 600 /mosquitto/certs/server.key
CONF=/mosquitto/data/dynamic-security.json
if [ ! -f "$CONF" ]; then
  mosquitto_ctrl dynsec init "$CONF" "$MQTT_ADMIN_USER" "$MQTT_ADMIN_PASSWORD"
  chown mosquitto:mosquitto "$CONF" 2>/dev/null || true
fi
