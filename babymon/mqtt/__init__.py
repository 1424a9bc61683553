"""MQTT output: state, events, snapshots, commands and Home Assistant discovery."""
