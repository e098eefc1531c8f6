#!/usr/bin/env python3
"""Decides whether a push to main must publish and deploy one service.

Path filters start a service's workflow whenever Cargo.lock changes, because a dependency
update changes what the service is built from. But releasing ANOTHER service also rewrites
Cargo.lock (the `version` line of that service's own [[package]] entry), and that must not
rebuild or redeploy this service. So, for a push to a branch, this script:

1. lists the files changed between the push's `before` and `after` commits;
2. keeps those the service's workflow `paths:` filter selects (scripts/path_filters.py);
3. if the only such file is Cargo.lock, compares the two lock files with the `version` of the
   OTHER services' entries blanked out; when they are then equal, nothing this service is
   built from changed.

It prints `deploy=true|false` with a reason, and appends `deploy=...` to $GITHUB_OUTPUT when
that variable is set. Release tags always deploy; a missing or unknown `before` commit (new
branch, force push, shallow history) deploys too, because the safe default is to ship.

    python3 scripts/change_scope.py --service user-service --base <sha> --head <sha>
    python3 scripts/change_scope.py --service user-service --tag user-service-v0.2.0
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from path_filters import ROOT, SERVICES, included, workflow_on

ZERO_SHA = "0" * 40


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def commit_exists(sha: str, cwd: Path) -> bool:
    result = subprocess.run(
        ["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=cwd, capture_output=True
    )
    return result.returncode == 0


def push_paths(workflow: Path) -> list[str]:
    """The `on.push.paths` patterns of a workflow file."""
    on = workflow_on(yaml.safe_load(workflow.read_text()))
    paths = (on.get("push") or {}).get("paths")
    if not paths:
        raise SystemExit(f"error: {workflow} has no on.push.paths filter")
    return paths


def normalised_lock(text: str, service: str) -> list[dict]:
    """Cargo.lock packages with the versions of the other services' own entries removed."""
    others = set(SERVICES) - {service}
    packages = []
    for package in tomllib.loads(text).get("package", []):
        package = dict(package)
        # Workspace members have no `source`; only they can be another service.
        if "source" not in package and package.get("name") in others:
            package.pop("version", None)
        packages.append(package)
    return sorted(packages, key=lambda p: (p.get("name", ""), p.get("version", ""), p.get("source", "")))


def lock_change_is_only_other_services_versions(old: str, new: str, service: str) -> bool:
    return normalised_lock(old, service) == normalised_lock(new, service)


def decide(service: str, base: str | None, head: str, repo: Path, workflow: Path) -> tuple[bool, str]:
    if not base or base == ZERO_SHA or not commit_exists(base, repo):
        return True, "no usable base commit for this push, deploying to be safe"
    changed = [p for p in git("diff", "--name-only", base, head, cwd=repo).splitlines() if p]
    relevant = [p for p in changed if included(p, push_paths(workflow))]
    if not relevant:
        return False, "no file this service is built or deployed from changed"
    if relevant != ["Cargo.lock"]:
        shown = ", ".join(relevant[:5]) + (" ..." if len(relevant) > 5 else "")
        return True, f"changed: {shown}"
    old = git("show", f"{base}:Cargo.lock", cwd=repo)
    new = git("show", f"{head}:Cargo.lock", cwd=repo)
    if lock_change_is_only_other_services_versions(old, new, service):
        return False, "Cargo.lock changed only in the version of another service"
    return True, "Cargo.lock changed in what this service is built from"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", required=True, choices=SERVICES)
    parser.add_argument("--base", help="the push's `before` commit")
    parser.add_argument("--head", default="HEAD", help="the pushed commit")
    parser.add_argument("--tag", help="set for a tag push: a release always deploys")
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--workflow", type=Path, help="defaults to .github/workflows/<service>.yml")
    args = parser.parse_args(argv)

    if args.tag:
        deploy, reason = True, f"release tag {args.tag}"
    else:
        workflow = args.workflow or args.repo / ".github" / "workflows" / f"{args.service}.yml"
        deploy, reason = decide(args.service, args.base, args.head, args.repo, workflow)
    value = "true" if deploy else "false"
    print(f"deploy={value} ({args.service}: {reason})")
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as fh:
            fh.write(f"deploy={value}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
