"""quality_scale.yaml lists every bronze and silver rule, each done, exempt or to do, and the cheap claims hold."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from custom_components.babymon import image

COMPONENT = Path(image.__file__).parent
BRONZE = {"action-setup", "appropriate-polling", "brands", "common-modules", "config-flow-test-coverage",
          "config-flow", "dependency-transparency", "docs-actions", "docs-high-level-description",
          "docs-installation-instructions", "docs-removal-instructions", "entity-event-setup", "entity-unique-id",
          "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup", "unique-config-entry"}
SILVER = {"action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
          "docs-installation-parameters", "entity-unavailable", "integration-owner", "log-when-unavailable",
          "parallel-updates", "reauthentication-flow", "test-coverage"}


def test_every_bronze_and_silver_rule_has_a_state_and_a_reason_when_not_done() -> None:
    rules = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text())["rules"]
    assert BRONZE | SILVER <= set(rules)
    for name in BRONZE | SILVER:
        rule = rules[name]
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in ("done", "exempt", "todo"), name
        if status != "done":
            assert isinstance(rule, dict) and rule.get("comment"), f"{name}: {status} needs a comment"


def test_the_claims_that_code_can_check() -> None:
    assert image.PARALLEL_UPDATES == 0
    assert (COMPONENT / "brand").is_dir()
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    assert manifest["codeowners"] and all(owner.startswith("@") for owner in manifest["codeowners"])
