"""babymon: a local-first AI baby monitor for IP cameras and Home Assistant.

Not a medical device: babymon does not monitor breathing or any vital sign.
"""

__version__ = "0.1.0"
