"""Tests of scripts/change_scope.py and scripts/crate_version.py on throw-away git repositories."""

import subprocess
import textwrap
from pathlib import Path

import pytest

import change_scope
import crate_version

WORKFLOW = textwrap.dedent(
    """\
    on:
      push:
        branches: [main]
        paths:
          - 'user-service/**'
          - 'http-plumbing/**'
          - 'Cargo.lock'
          - 'contracts/*-user-service.json'
    """
)


def lock(user="0.1.0", order="0.1.0", serde="1.0.200"):
    return textwrap.dedent(
        f"""\
        version = 4

        [[package]]
        name = "order-service"
        version = "{order}"
        dependencies = ["serde"]

        [[package]]
        name = "serde"
        version = "{serde}"
        source = "registry+https://github.com/rust-lang/crates.io-index"

        [[package]]
        name = "user-service"
        version = "{user}"
        dependencies = ["serde"]
        """
    )


def run(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    run(repo, "add", "-A")
    run(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", message)
    return run(repo, "rev-parse", "HEAD")


@pytest.fixture()
def repo(tmp_path):
    run(tmp_path, "init", "-q", "-b", "main")
    workflow = tmp_path / ".github" / "workflows" / "user-service.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(WORKFLOW)
    base = commit(
        tmp_path,
        {
            "Cargo.lock": lock(),
            "order-service/Cargo.toml": '[package]\nname = "order-service"\nversion = "0.1.0"\n',
            "user-service/Cargo.toml": '[package]\nname = "user-service"\nversion = "0.1.0"\n',
        },
        "init",
    )
    return tmp_path, base


def decide(repo: Path, base: str, head: str):
    return change_scope.decide("user-service", base, head, repo, repo / ".github/workflows/user-service.yml")


def test_release_of_another_service_does_not_deploy_this_one(repo):
    path, base = repo
    head = commit(
        path,
        {"Cargo.lock": lock(order="0.2.0"), "order-service/Cargo.toml": '[package]\nname = "order-service"\nversion = "0.2.0"\n'},
        "chore(order-service): release v0.2.0",
    )
    deploy, reason = decide(path, base, head)
    assert not deploy, reason


def test_dependency_update_in_cargo_lock_deploys(repo):
    path, base = repo
    head = commit(path, {"Cargo.lock": lock(serde="1.0.201")}, "chore: cargo update")
    assert decide(path, base, head)[0]


def test_own_release_deploys(repo):
    path, base = repo
    head = commit(
        path,
        {"Cargo.lock": lock(user="0.2.0"), "user-service/Cargo.toml": '[package]\nname = "user-service"\nversion = "0.2.0"\n'},
        "chore(user-service): release v0.2.0",
    )
    assert decide(path, base, head)[0]


def test_contract_change_deploys_the_provider(repo):
    path, base = repo
    head = commit(path, {"contracts/order-service-user-service.json": "{}"}, "contract")
    assert decide(path, base, head)[0]


def test_unrelated_change_does_not_deploy(repo):
    path, base = repo
    head = commit(path, {"README.md": "docs"}, "docs")
    assert not decide(path, base, head)[0]


def test_unknown_base_deploys(repo):
    path, _ = repo
    assert decide(path, "0" * 40, "HEAD")[0]
    assert decide(path, "1234567890" * 4, "HEAD")[0]


def test_crate_version_reads_the_member_manifest(repo):
    path, _ = repo
    assert crate_version.crate_version("user-service", root=path) == "0.1.0"


def test_crate_version_follows_workspace_inheritance(tmp_path):
    (tmp_path / "Cargo.toml").write_text('[workspace.package]\nversion = "1.2.3"\n')
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Cargo.toml").write_text('[package]\nname = "svc"\nversion.workspace = true\n')
    assert crate_version.crate_version("svc", root=tmp_path) == "1.2.3"


def test_crate_version_rejects_a_tag_for_another_version(capsys):
    assert crate_version.main(["user-service", "--check-tag", "user-service-v999.0.0"]) == 1
    assert "does not match" in capsys.readouterr().err


def test_crate_version_of_the_real_services():
    for service in ("user-service", "product-service", "order-service"):
        version = crate_version.crate_version(service)
        assert crate_version.main([service, "--check-tag", f"{service}-v{version}"]) == 0
