"""Local HTTP API, live view and web page (aiohttp, inside the daemon)."""
