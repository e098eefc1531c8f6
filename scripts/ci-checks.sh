#!/usr/bin/env bash
# Offline checks of the CI/CD and deployment files (no cargo, no cluster, no GitHub):
#
#   1. workflow lint     zizmor --offline over .github/ (workflows and composite actions), in
#                        the regular and the pedantic persona, and check-jsonschema with its
#                        built-in GitHub workflow and action schemas
#   2. shell lint        shellcheck over scripts/*.sh
#   3. k8s manifests     every base and overlay rendered with kubectl's built-in kustomize,
#                        validated with kubernetes-validate --strict (schemas bundled in the
#                        wheel), then checked against project rules by scripts/k8s_policy.py
#   4. path filters      scripts/path_filters.py: which workflow each sample change reaches
#   5. unit tests        pytest scripts/tests (glob matcher, deploy scope, policy, workflows,
#                        release config)
#
# Usage: bash scripts/ci-checks.sh
# Needs Python >= 3.11 with pip and venv, and PyPI. The tools are installed, pinned by
# scripts/ci-requirements.txt, into a venv at $CI_CHECKS_VENV (default: .venv-ci/ in the repo,
# git-ignored), which is rebuilt when the requirements change. Every check runs even if an
# earlier one failed; a summary follows and the exit status is 1 if any check failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

venv=${CI_CHECKS_VENV:-$root/.venv-ci}
requirements=scripts/ci-requirements.txt
python=${PYTHON:-python3}

section() { printf '\n=== %s\n' "$*"; }

section "tools (venv: $venv)"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: $python is older than 3.11 (tomllib is needed)" >&2
  exit 1
fi
stamp=$("$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read() + sys.version.encode()).hexdigest())' "$requirements")
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements-stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: -r "$requirements"
  "$venv/bin/python" -m pip check
  echo "$stamp" > "$venv/.requirements-stamp"
fi
export PATH="$venv/bin:$PATH"
# Keep the checkout clean: no __pycache__ folders next to the scripts.
export PYTHONDONTWRITEBYTECODE=1
echo "zizmor $(zizmor --version | awk '{print $2}'), check-jsonschema $(check-jsonschema --version | awk '{print $NF}'),"\
  "kubernetes-validate $(kubernetes-validate --version), $(kubectl version --client | tr '\n' ' ')"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

results=()
failed=0
record() { # record <name> <status>
  if [ "$2" -eq 0 ]; then results+=("PASS  $1"); else results+=("FAIL  $1"); failed=1; fi
}
run_check() { # run_check <name> <command...>: runs it, shows its output, records the outcome
  local name=$1 status=0
  shift
  section "$name"
  "$@" || status=$?
  record "$name" "$status"
}

mapfile -t workflows < <(find .github/workflows -maxdepth 1 -name '*.yml' | sort)
mapfile -t actions < <(find .github/actions -name 'action.yml' | sort)

run_check "zizmor --offline (.github/)" zizmor --offline --no-progress .github/
run_check "zizmor --offline --pedantic (.github/)" zizmor --offline --no-progress --pedantic .github/
run_check "check-jsonschema vendor.github-workflows" \
  check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
run_check "check-jsonschema vendor.github-actions" \
  check-jsonschema --builtin-schema vendor.github-actions "${actions[@]}"
run_check "shellcheck scripts/*.sh" shellcheck --severity=style scripts/*.sh

k8s_manifests() {
  local status=0 service tree name
  for service in user-service product-service order-service notification-service; do
    for tree in base overlays/staging overlays/production; do
      name="$service-${tree#overlays/}"
      if ! kubectl kustomize "deploy/k8s/$service/$tree" > "$work/$name.yaml"; then
        echo "  RENDER FAILED deploy/k8s/$service/$tree"
        status=1
        continue
      fi
      echo "rendered deploy/k8s/$service/$tree ($(grep -c '^kind:' "$work/$name.yaml") objects)"
      kubernetes-validate --strict "$work/$name.yaml" | sed "s|$work/||" || status=1
      python scripts/k8s_policy.py --service "$service" --env "${tree#overlays/}" "$work/$name.yaml" || status=1
    done
  done
  # The NATS cluster is no service: rendered and schema-validated, not held to the service policy.
  for tree in base overlays/staging overlays/production; do
    name="nats-${tree#overlays/}"
    if ! kubectl kustomize "deploy/k8s/nats/$tree" > "$work/$name.yaml"; then
      echo "  RENDER FAILED deploy/k8s/nats/$tree"
      status=1
      continue
    fi
    echo "rendered deploy/k8s/nats/$tree ($(grep -c '^kind:' "$work/$name.yaml") objects)"
    kubernetes-validate --strict "$work/$name.yaml" | sed "s|$work/||" || status=1
  done
  return "$status"
}
run_check "k8s manifests (kustomize render + kubernetes-validate --strict + policy)" k8s_manifests
run_check "path filters (GitHub glob semantics)" python scripts/path_filters.py
run_check "unit tests (pytest scripts/tests)" \
  python -m pytest -q -p no:cacheprovider scripts/tests

section "summary"
printf '%s\n' "${results[@]}"
if [ "$failed" -ne 0 ]; then
  echo "ci-checks: FAILED"
  exit 1
fi
echo "ci-checks: all ${#results[@]} checks passed"
