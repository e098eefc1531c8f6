"""Project rules for .github/ that zizmor and the JSON schemas do not enforce."""

import re
from pathlib import Path

import pytest
import yaml

from path_filters import SERVICES, workflow_on

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION_FILES = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))
PIPELINE = ROOT / ".github" / "workflows" / "_service-pipeline.yml"

PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses: \S+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def load(path):
    return yaml.safe_load(path.read_text())


def steps_of(doc):
    for job_id, job in (doc.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            yield job_id, step
    for step in (doc.get("runs") or {}).get("steps") or []:
        yield "composite", step


ALL_FILES = WORKFLOW_FILES + ACTION_FILES


def test_the_expected_files_exist():
    names = {p.name for p in WORKFLOW_FILES}
    assert {"user-service.yml", "product-service.yml", "order-service.yml", "notification-service.yml", "_service-pipeline.yml", "shared-checks.yml"} <= names
    assert ACTION_FILES


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name if p.name != "action.yml" else p.parent.name)
def test_third_party_actions_are_pinned_to_a_commit_with_a_version_comment(path):
    text = path.read_text()
    for job_id, step in steps_of(load(path)):
        uses = step.get("uses")
        if uses is None or uses.startswith("$/"):
            continue
        assert PINNED.match(uses), f"{path.name}/{job_id}: {uses} is not pinned to a full commit SHA"
    for line in text.splitlines():
        stripped = line.strip().removeprefix("- ")
        if stripped.startswith("uses:") and "$/" not in stripped:
            assert VERSION_COMMENT.search(stripped), f"{path.name}: {stripped!r} lacks a '# vX.Y.Z' comment"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name if p.name != "action.yml" else p.parent.name)
def test_checkouts_do_not_persist_credentials(path):
    for job_id, step in steps_of(load(path)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("persist-credentials") is False, f"{path.name}/{job_id}"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name if p.name != "action.yml" else p.parent.name)
def test_no_expressions_inside_run_scripts(path):
    # Values reach shell through env:, never by template expansion into the script.
    for job_id, step in steps_of(load(path)):
        assert "${{" not in str(step.get("run", "")), f"{path.name}/{job_id}: expression inside run:"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_top_level_permissions_are_read_only(path):
    assert load(path).get("permissions") == {"contents": "read"}, path.name


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_jobs_have_timeouts(path):
    for job_id, job in load(path)["jobs"].items():
        if "uses" in job:
            continue
        assert "timeout-minutes" in job, f"{path.name}/{job_id}"


def test_only_the_publish_job_may_write_packages():
    doc = load(PIPELINE)
    writers = {job_id for job_id, job in doc["jobs"].items() if (job.get("permissions") or {}).get("packages") == "write"}
    assert writers == {"publish"}
    for job_id, job in doc["jobs"].items():
        assert "id-token" not in (job.get("permissions") or {}), job_id


def test_deploys_need_publish_and_run_in_their_environments():
    jobs = load(PIPELINE)["jobs"]
    assert "publish" in jobs["deploy-staging"]["needs"]
    assert {"publish", "deploy-staging"} <= set(jobs["deploy-production"]["needs"])
    assert jobs["deploy-staging"]["environment"]["name"] == "staging"
    assert jobs["deploy-production"]["environment"]["name"] == "production"
    assert "github.ref_type == 'tag'" in jobs["deploy-production"]["if"]
    for job in ("deploy-staging", "deploy-production"):
        assert jobs[job]["concurrency"]["cancel-in-progress"] is False


def test_publish_is_gated_on_every_check_of_the_commit():
    publish = load(PIPELINE)["jobs"]["publish"]
    gates = {"fmt", "clippy", "test", "contracts-consumer", "contracts-provider", "scope"}
    assert set(publish["needs"]) == gates
    for job in gates - {"scope"}:
        assert f"needs.{job}.result == 'success'" in publish["if"], job
    assert "needs.scope.outputs.deploy == 'true'" in publish["if"]


EXPECTED_ROLES = {
    "user-service": (False, ["user-service"]),
    "product-service": (False, ["product-service"]),
    "order-service": (True, ["user-service", "product-service"]),
    "notification-service": (True, ["order-service"]),
}


@pytest.mark.parametrize("service", SERVICES)
def test_service_workflow_calls_the_pipeline_for_itself(service):
    doc = load(ROOT / ".github" / "workflows" / f"{service}.yml")
    (job,) = doc["jobs"].values()
    assert job["uses"] == "$/.github/workflows/_service-pipeline.yml"
    assert job["with"]["service"] == service
    consumer, providers = EXPECTED_ROLES[service]
    assert job["with"].get("consumer", False) is consumer
    assert yaml.safe_load(job["with"]["verify-providers"]) == providers
    assert job.get("secrets") == {"KUBE_CONFIG": "${{ secrets.KUBE_CONFIG }}"}, "pass only what is needed"
    on = workflow_on(doc)
    assert on["push"]["tags"] == [f"{service}-v*"]
    assert on["push"]["branches"] == ["main"]
    assert doc["concurrency"]["group"] == "${{ github.workflow }}-${{ github.ref }}"


def test_committed_contracts_match_the_declared_consumer_and_providers():
    # Once contracts exist, every provider named by one must be verified by its own workflow and
    # by the consumer's: the file name <consumer>-<provider>.json says who is who.
    contracts = sorted((ROOT / "contracts").glob("*.json"))
    for contract in contracts:
        consumer, _, provider = contract.stem.partition("-service-")
        consumer, provider = consumer + "-service", provider
        assert consumer in EXPECTED_ROLES and EXPECTED_ROLES[consumer][0], contract.name
        assert provider in EXPECTED_ROLES[consumer][1], contract.name


def workspace_path_crates():
    """[workspace.dependencies] entries that are crates of this workspace: name -> folder."""
    import tomllib

    deps = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"].get("dependencies", {})
    return {name: spec["path"] for name, spec in deps.items() if isinstance(spec, dict) and "path" in spec}


@pytest.mark.parametrize("service", SERVICES)
def test_path_filter_covers_every_workspace_crate_the_service_uses(service):
    # A renamed or added plumbing crate must not silently stop triggering the services using it.
    import tomllib

    from path_filters import included

    manifest = tomllib.loads((ROOT / service / "Cargo.toml").read_text())
    used = set(manifest.get("dependencies", {})) | set(manifest.get("dev-dependencies", {}))
    paths = workflow_on(load(ROOT / ".github" / "workflows" / f"{service}.yml"))["push"]["paths"]
    for name, folder in workspace_path_crates().items():
        if name in used:
            assert included(f"{folder}/src/lib.rs", paths), f"{service}.yml does not watch {folder}/"
            assert included(f"{folder}/Cargo.toml", paths), f"{service}.yml does not watch {folder}/"
    for other in set(SERVICES) - {service}:
        assert other not in used, f"{service} depends on the service crate {other}"
