"""Constants shared by the babymon integration's modules."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "babymon"

CONF_TOPIC_PREFIX: Final = "topic_prefix"
CONF_SNOOZE_MINUTES: Final = "snooze_minutes"
CONF_ALERT_CONDITIONS: Final = "alert_conditions"
CONF_WEB_URL: Final = "web_url"  # the daemon's web page, as the user confirmed it (the live camera's token goes there)
CONF_HTTP_TOKEN: Final = "http_token"

DEFAULT_TOPIC_PREFIX: Final = "babymon"
DEFAULT_SNOOZE_MINUTES: Final = 30
# conditions whose start raises the integration's "alert" trigger; the daemon's own names
ALERT_CONDITIONS: Final = ("face_covered", "prone", "standing", "crying", "monitor_unavailable")
DEFAULT_ALERT_CONDITIONS: Final = list(ALERT_CONDITIONS)

# the MQTT integration's device identifiers domain: the daemon's discovery creates the devices
MQTT_DOMAIN: Final = "mqtt"

# events fired on the Home Assistant bus; device triggers listen to them
EVENT_BABYMON: Final = "babymon_event"  # every daemon event: data device_id, camera, type, …
EVENT_BABYMON_ALERT: Final = "babymon_alert"  # a condition chosen in the options started

# how long the config flow waits for <prefix>/available before reporting the daemon unreachable
AVAILABILITY_TIMEOUT: Final = 5.0

SERVICE_SNOOZE: Final = "snooze"
SERVICE_RESUME: Final = "resume"
ATTR_DURATION: Final = "duration"
