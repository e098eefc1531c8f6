"""release-plz.toml releases each service on its own, under the tag its workflow listens to."""

import tomllib
from pathlib import Path

import pytest

from crate_version import crate_version
from path_filters import SERVICES

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "release-plz.toml").read_text())
PACKAGES = {p["name"]: p for p in CONFIG.get("package", [])}
MEMBERS = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]


def test_nothing_is_published_and_versions_come_from_git_tags():
    ws = CONFIG["workspace"]
    assert ws["publish"] is False
    assert ws["git_only"] is True
    assert ws["release"] is False, "only the services opt in"


def test_only_the_services_are_released():
    assert set(PACKAGES) == set(SERVICES)
    assert set(SERVICES) <= set(MEMBERS)


@pytest.mark.parametrize("service", SERVICES)
def test_service_release_settings(service):
    pkg = PACKAGES[service]
    assert pkg["release"] is True
    assert pkg["git_tag_enable"] is True
    assert pkg["git_tag_name"] == f"{service}-v{{{{ version }}}}"
    assert pkg["git_only_release_tag_prefix"] == f"{service}-v"
    assert pkg.get("changelog_update", True) is True
    assert "version_group" not in pkg, "services are versioned independently"
    assert "changelog_include" not in pkg


@pytest.mark.parametrize("service", SERVICES)
def test_service_has_its_own_version_and_changelog(service):
    assert crate_version(service)
    manifest = tomllib.loads((ROOT / service / "Cargo.toml").read_text())
    assert isinstance(manifest["package"]["version"], str), "each service keeps its own version"
    assert (ROOT / service / "CHANGELOG.md").is_file()
