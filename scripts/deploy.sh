#!/usr/bin/env bash
# Deploys ONE service to ONE environment, and nothing else.
#
#   scripts/deploy.sh <service> <staging|production> <image>
#
# <image> is what the overlay should run, e.g. ghcr.io/acme/order-service@sha256:<digest>
# (what CI passes) or ghcr.io/acme/order-service:0.2.0 (a manual rollback).
#
# The service's kustomize tree is copied to a scratch folder, the image is pinned there with
# `kustomize edit set image`, and the overlay is applied with `kubectl apply -k`; the checkout
# stays clean. It then waits for the Deployment's rollout (readiness on /ready).
# Needs kustomize and kubectl on PATH and KUBECONFIG (or ~/.kube/config) for the cluster.
# DRY_RUN=1 prints the rendered manifests instead of applying them.
set -euo pipefail

usage() {
  echo "usage: $0 <user-service|product-service|order-service|notification-service> <staging|production> <image>" >&2
  exit 2
}

[ "$#" -eq 3 ] || usage
service=$1
environment=$2
image=$3

case "$service" in
  user-service | product-service | order-service | notification-service) ;;
  *) usage ;;
esac
case "$environment" in
  staging | production) ;;
  *) usage ;;
esac
case "$image" in
  ghcr.io/*/"$service"@sha256:* | ghcr.io/*/"$service":*) ;;
  *)
    echo "error: image '$image' is not ghcr.io/<owner>/$service:<tag> or @sha256:<digest>" >&2
    exit 2
    ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -R "$root/deploy/k8s/$service" "$scratch/$service"
overlay="$scratch/$service/overlays/$environment"

namespace=$(sed -n 's/^namespace:[[:space:]]*//p' "$overlay/kustomization.yaml")
[ -n "$namespace" ] || {
  echo "error: $overlay/kustomization.yaml sets no namespace" >&2
  exit 1
}

(cd "$overlay" && kustomize edit set image "$service=$image")

if [ "${DRY_RUN:-0}" = 1 ]; then
  kustomize build "$overlay"
  exit 0
fi

echo "deploying $service to $environment (namespace $namespace): $image"
kubectl apply -k "$overlay"
kubectl --namespace "$namespace" rollout status "deployment/$service" --timeout=300s
