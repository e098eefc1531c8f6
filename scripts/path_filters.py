#!/usr/bin/env python3
"""Evaluates the `on:` filters of this repository's GitHub workflows offline.

GitHub decides whether a workflow runs from its `branches`/`tags` and `paths`/`paths-ignore`
filters. This module re-implements that decision so CI can prove which workflow a change
reaches, without GitHub:

* `github_glob_to_regex` translates one filter pattern, following the "Filter pattern cheat
  sheet" of GitHub's workflow-syntax reference:
  - `*` matches zero or more characters except `/`;
  - `**` matches zero or more of any character; `**/` may also match nothing, which is how
    `docs/**/*.md` matches `docs/README.md` and `**/README.md` matches `README.md`;
  - `?` makes the preceding character optional (`*.jsx?` matches `page.js` and `page.jsx`);
  - `+` matches one or more of the preceding character;
  - `[...]` matches one character listed or in a range (`[CB]at`, `[1-2]00`);
  - `\\` escapes the next character;
  - a leading `!` negates the pattern (handled by `included`, not here).
  Patterns match the whole path from the repository root.
* `included` applies a pattern list in order: the last pattern that matches a path decides,
  so `!` excludes what earlier patterns included and a later positive pattern re-includes.
* `triggered` combines ref and path filters for `push` and `pull_request`. Path filters are
  not evaluated for pushes of tags (GitHub's documented behaviour).

Run it as a script to evaluate SCENARIOS against .github/workflows/*.yml, print a table, and
exit 1 if any workflow routing differs from the expectation. Its unit tests are in
scripts/tests/test_path_filters.py.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"

SERVICES = ("user-service", "product-service", "order-service", "notification-service")


def github_glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Translates one GitHub filter pattern (without a leading `!`) into an anchored regex."""
    out: list[str] = []
    # Index in `out` where the most recent single-character atom starts, for `?` and `+`.
    last_atom: int | None = None
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                if i + 2 < n and pattern[i + 2] == "/":
                    out.append("(?:.*/)?")
                    i += 3
                else:
                    out.append(".*")
                    i += 2
            else:
                out.append("[^/]*")
                i += 1
            last_atom = None
        elif c == "?" or c == "+":
            if last_atom is None:
                # Nothing to repeat (start of pattern or after a wildcard): GitHub treats the
                # character literally there, and so do we.
                out.append(re.escape(c))
                last_atom = len(out) - 1
            else:
                atom = "".join(out[last_atom:])
                del out[last_atom:]
                out.append(f"(?:{atom}){c}")
                last_atom = None
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise ValueError(f"unterminated [ in pattern {pattern!r}")
            body = pattern[i + 1 : end]
            if not re.fullmatch(r"(?:[A-Za-z0-9](?:-[A-Za-z0-9])?)+", body):
                raise ValueError(
                    f"character class [{body}] in {pattern!r}: GitHub allows only letters, "
                    "digits and a-z/A-Z/0-9 ranges"
                )
            out.append(f"[{body}]")
            last_atom = len(out) - 1
            i = end + 1
        elif c == "\\":
            if i + 1 >= n:
                raise ValueError(f"dangling escape in pattern {pattern!r}")
            out.append(re.escape(pattern[i + 1]))
            last_atom = len(out) - 1
            i += 2
        else:
            out.append(re.escape(c))
            last_atom = len(out) - 1
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(pattern: str, path: str) -> bool:
    """Whether `path` matches one pattern (no negation)."""
    return github_glob_to_regex(pattern).match(path) is not None


def included(path: str, patterns: list[str]) -> bool:
    """Applies an ordered pattern list with `!` negation: the last matching pattern decides."""
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        if matches(body, path):
            result = not negated
    return result


def paths_allow(filters: dict, changed: list[str]) -> bool:
    """Whether a `paths`/`paths-ignore` filter lets an event with these changed files through."""
    if "paths" in filters:
        return any(included(p, filters["paths"]) for p in changed)
    if "paths-ignore" in filters:
        return not all(included(p, filters["paths-ignore"]) for p in changed)
    return True


def ref_allows(filters: dict, kind: str, name: str) -> bool:
    """Branch/tag filters of a push or pull_request event (`kind` is "branches" or "tags")."""
    positive, ignore = filters.get(kind), filters.get(f"{kind}-ignore")
    if positive is not None:
        return included(name, positive)
    if ignore is not None:
        return not included(name, ignore)
    other = "tags" if kind == "branches" else "branches"
    # Defining only the other kind's filter means this kind of ref never triggers the workflow.
    if filters.get(other) is not None or filters.get(f"{other}-ignore") is not None:
        return False
    return True


@dataclass(frozen=True)
class Event:
    """A GitHub event to route: `push` to a branch or tag, or a `pull_request` into a branch."""

    name: str
    ref_kind: str  # "branch" or "tag"
    ref: str
    changed: tuple[str, ...] = ()


def workflow_on(document: dict) -> dict:
    """The `on:` mapping of a parsed workflow (YAML 1.1 reads a bare `on` key as True)."""
    on = document.get("on", document.get(True))
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {name: {} for name in on}
    return on or {}


def triggered(document: dict, event: Event) -> bool:
    """Whether the workflow described by `document` runs for `event`."""
    on = workflow_on(document)
    if event.name not in on:
        return False
    filters = on[event.name] or {}
    if event.name == "push" and event.ref_kind == "tag":
        return ref_allows(filters, "tags", event.ref)
    if not ref_allows(filters, "branches", event.ref):
        return False
    return paths_allow(filters, list(event.changed))


def load_workflows(directory: Path = WORKFLOWS) -> dict[str, dict]:
    """Top-level workflows by file stem; reusable (`_`-prefixed) workflows are left out."""
    result = {}
    for path in sorted(directory.glob("*.yml")):
        if path.name.startswith("_"):
            continue
        result[path.stem] = yaml.safe_load(path.read_text())
    return result


@dataclass(frozen=True)
class Scenario:
    """A change and the workflows it must reach (by workflow file stem)."""

    label: str
    event: Event
    expected: frozenset[str] = field(default_factory=frozenset)


def _pr(label: str, *changed: str, expected: set[str]) -> Scenario:
    return Scenario(label, Event("pull_request", "branch", "main", changed), frozenset(expected))


def _push(label: str, *changed: str, expected: set[str]) -> Scenario:
    return Scenario(label, Event("push", "branch", "main", changed), frozenset(expected))


def _tag(tag: str, expected: set[str]) -> Scenario:
    return Scenario(f"tag {tag}", Event("push", "tag", tag, ()), frozenset(expected))


ALL_SERVICES = set(SERVICES)
SHARED = "shared-checks"

SCENARIOS: list[Scenario] = [
    _pr("user-service code", "user-service/src/routes/users.rs", expected={"user-service", SHARED}),
    _pr("product-service code", "product-service/src/store/mod.rs", expected={"product-service", SHARED}),
    _pr("order-service code", "order-service/src/clients/user.rs", expected={"order-service", SHARED}),
    _pr("notification-service code", "notification-service/src/workers/consumer.rs", expected={"notification-service", SHARED}),
    _pr("notification-service migration", "notification-service/migrations/0002_x.sql", expected={"notification-service"}),
    _pr("user-service openapi.json", "user-service/openapi.json", expected={"user-service"}),
    _pr("product-service migration", "product-service/migrations/0002_stock.sql", expected={"product-service"}),
    _pr("order-service Dockerfile", "order-service/Dockerfile", expected={"order-service"}),
    _pr("order-service README", "order-service/README.md", expected={"order-service"}),
    _pr("telemetry crate", "telemetry/src/lib.rs", expected=ALL_SERVICES | {SHARED}),
    _pr("http-plumbing crate", "http-plumbing/src/errors.rs", expected=ALL_SERVICES | {SHARED}),
    _pr("testkit crate", "testkit/src/lib.rs", expected=ALL_SERVICES | {SHARED}),
    _pr("pg-testkit crate (layout name)", "pg-testkit/src/lib.rs", expected=ALL_SERVICES | {SHARED}),
    _pr("Cargo.lock", "Cargo.lock", expected=ALL_SERVICES | {SHARED}),
    _pr("root Cargo.toml", "Cargo.toml", expected=ALL_SERVICES | {SHARED}),
    _pr("contract order->user", "contracts/order-service-user-service.json", expected={"order-service", "user-service"}),
    _pr("contract order->product", "contracts/order-service-product-service.json", expected={"order-service", "product-service"}),
    # order-service verifies the message contract as its provider, so it runs too.
    _pr("message contract notification->order", "contracts/notification-service-order-service.json", expected={"notification-service", "order-service"}),
    _pr("notification-service k8s overlay", "deploy/k8s/notification-service/overlays/production/kustomization.yaml", expected={"notification-service", SHARED}),
    _pr("NATS cluster manifests", "deploy/k8s/nats/base/statefulset.yaml", expected={SHARED}),
    _pr("user-service k8s overlay", "deploy/k8s/user-service/overlays/production/kustomization.yaml", expected={"user-service", SHARED}),
    _pr("order-service k8s base", "deploy/k8s/order-service/base/deployment.yaml", expected={"order-service", SHARED}),
    _pr("user-service workflow", ".github/workflows/user-service.yml", expected={"user-service", SHARED}),
    _pr("reusable pipeline", ".github/workflows/_service-pipeline.yml", expected=ALL_SERVICES | {SHARED}),
    _pr("composite action", ".github/actions/setup-rust/action.yml", expected=ALL_SERVICES | {SHARED}),
    _pr("crate_version.py", "scripts/crate_version.py", expected=ALL_SERVICES | {SHARED}),
    # Cargo.lock starts all three; scripts/change_scope.py then lets only order-service deploy.
    _push(
        "order-service release commit*",
        "order-service/Cargo.toml", "order-service/CHANGELOG.md", "Cargo.lock",
        expected=ALL_SERVICES | {SHARED},
    ),
    _pr("xtask", "xtask/src/main.rs", expected={SHARED}),
    _pr("release-plz.toml", "release-plz.toml", expected={SHARED}),
    _pr("root docs only", "README.md", "ARCHITECTURE.md", "deploy/README.md", expected=set()),
    _pr("docs folder only", "docs/runbook.md", expected=set()),
    _pr("docs + user code", "README.md", "user-service/src/lib.rs", expected={"user-service", SHARED}),
    _push("push main: product code", "product-service/src/routes/products.rs", expected={"product-service", SHARED}),
    _push("push main: docs only", "README.md", expected=set()),
    _tag("user-service-v0.2.0", {"user-service"}),
    _tag("product-service-v1.0.1", {"product-service"}),
    _tag("order-service-v0.2.0", {"order-service"}),
    _tag("notification-service-v0.1.1", {"notification-service"}),
    _tag("v1.0.0", set()),
]


def evaluate(workflows: dict[str, dict], scenarios: list[Scenario]) -> list[tuple[Scenario, frozenset[str]]]:
    """The workflows each scenario actually reaches."""
    return [
        (s, frozenset(name for name, doc in workflows.items() if triggered(doc, s.event)))
        for s in scenarios
    ]


def _event_label(event: Event) -> str:
    return f"{event.name} {event.ref_kind} {event.ref}" if event.name == "push" else f"{event.name} -> {event.ref}"


def render_table(workflows: list[str], results: list[tuple[Scenario, frozenset[str]]]) -> str:
    """A fixed-width table: one row per scenario, x = runs, . = does not, ! marks a mismatch."""
    short = {name: name.replace("-service", "").replace("shared-checks", "shared") for name in workflows}
    label_w = max(len("change"), *(len(s.label) for s, _ in results))
    event_w = max(len("event"), *(len(_event_label(s.event)) for s, _ in results))
    col_w = {w: max(len(short[w]), 3) for w in workflows}
    header = f"{'change':<{label_w}}  {'event':<{event_w}}  " + "  ".join(
        f"{short[w]:^{col_w[w]}}" for w in workflows
    ) + "  result"
    lines = [header, "-" * len(header)]
    for scenario, actual in results:
        cells = []
        for w in workflows:
            mark = "x" if w in actual else "."
            if (w in actual) != (w in scenario.expected):
                mark += "!"
            cells.append(f"{mark:^{col_w[w]}}")
        ok = actual == scenario.expected
        lines.append(
            f"{scenario.label:<{label_w}}  {_event_label(scenario.event):<{event_w}}  "
            + "  ".join(cells)
            + ("  ok" if ok else "  MISMATCH")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=Path, default=WORKFLOWS, help="workflow folder")
    args = parser.parse_args(argv)

    workflows = load_workflows(args.workflows)
    missing = [w for w in (*SERVICES, SHARED) if w not in workflows]
    if missing:
        print(f"missing workflows: {', '.join(missing)}", file=sys.stderr)
        return 1
    mismatched = []
    for name, doc in sorted(workflows.items()):
        on = workflow_on(doc)
        pr_paths = (on.get("pull_request") or {}).get("paths")
        push_paths = (on.get("push") or {}).get("paths")
        if pr_paths != push_paths:
            mismatched.append(name)
            print(f"{name}: on.pull_request.paths and on.push.paths differ", file=sys.stderr)
    order = [*SERVICES, SHARED] + sorted(set(workflows) - {*SERVICES, SHARED})
    results = evaluate(workflows, SCENARIOS)
    print(render_table(order, results))
    print("x = workflow runs, . = it does not, ! = differs from the expectation")
    print("* its pipeline runs everywhere, but scripts/change_scope.py publishes and deploys only order-service")
    failures = [s for s, actual in results if actual != s.expected]
    print(f"\npath-filter scenarios: {len(results) - len(failures)} passed, {len(failures)} failed")
    for s, actual in results:
        if actual != s.expected:
            print(
                f"  MISMATCH {s.label}: expected {sorted(s.expected) or 'none'}, got {sorted(actual) or 'none'}",
                file=sys.stderr,
            )
    return 1 if failures or mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
