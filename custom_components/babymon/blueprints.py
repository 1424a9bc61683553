"""Copy the bundled blueprints into <config>/blueprints/automation/babymon/ (never overwriting the user's)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from homeassistant.core import HomeAssistant

from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

BUNDLED = Path(__file__).parent / "blueprints" / "automation" / DOMAIN


def _install(target: Path) -> list[str]:
    target.mkdir(parents=True, exist_ok=True)
    installed = []
    for source in sorted(BUNDLED.glob("*.yaml")):
        destination = target / source.name
        if not destination.exists():
            shutil.copyfile(source, destination)
            installed.append(source.name)
    return installed


async def async_install_blueprints(hass: HomeAssistant) -> None:
    target = Path(hass.config.path("blueprints", "automation", DOMAIN))
    try:
        installed = await hass.async_add_executor_job(_install, target)
    except OSError as exc:
        _LOGGER.warning("could not install the babymon blueprints into %s: %s", target, exc)
        return
    if installed:
        _LOGGER.info("installed babymon blueprints into %s: %s", target, ", ".join(installed))
