#!/usr/bin/with-contenv bashio
# shellcheck shell=bash
# babymon add-on entry point (NOT YET TESTED in a built image): the add-on's options and the Supervisor's
# MQTT service → /data/babymon.yaml (python3 -m babymon.addon), model files, then `babymon run`.

OPTIONS=/data/options.json
CONFIG=/data/babymon.yaml
export BABYMON_MODEL_DIR="${BABYMON_MODEL_DIR:-/share/babymon/models}"

if ! bashio::services.available "mqtt"; then
    bashio::exit.nok "No MQTT broker: install and start the Mosquitto broker add-on, then start babymon again."
fi
BABYMON_MQTT_HOST="$(bashio::services "mqtt" "host")"
BABYMON_MQTT_PORT="$(bashio::services "mqtt" "port")"
BABYMON_MQTT_USERNAME="$(bashio::services "mqtt" "username")"
BABYMON_MQTT_PASSWORD="$(bashio::services "mqtt" "password")"
BABYMON_MQTT_SSL="$(bashio::services "mqtt" "ssl")"
export BABYMON_MQTT_HOST BABYMON_MQTT_PORT BABYMON_MQTT_USERNAME BABYMON_MQTT_PASSWORD BABYMON_MQTT_SSL

mkdir -p /share/babymon/evidence /share/babymon/nursery "${BABYMON_MODEL_DIR}"

# options → babymon's config, validated by babymon's own loader; exit 2 names the option that is wrong
python3 -m babymon.addon "${OPTIONS}" "${CONFIG}" || bashio::exit.nok "The add-on options were refused (see above)."
unset BABYMON_MQTT_PASSWORD  # it is in the config file now (mode 0600)

# skips models already there; with no internet, copy the files into /share/babymon/models instead.
# A missing model is not fatal: babymon reports that detector as unavailable in Home Assistant.
if ! babymon models download --quiet; then
    bashio::log.warning "Some model files could not be downloaded (named above); babymon starts without them."
fi

bashio::log.info "Starting babymon (not a medical device)"
exec babymon run -c "${CONFIG}"
