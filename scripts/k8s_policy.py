#!/usr/bin/env python3
"""Checks the rendered manifests of ONE service in ONE environment against this project's rules.

Schema validity is kubernetes-validate's job (scripts/ci-checks.sh runs it first); this checks
what a schema cannot: that the overlay deploys exactly one service, with the probes, limits,
security context, secret handling and wiring the deploy procedure relies on.

    kubectl kustomize deploy/k8s/order-service/overlays/production > /tmp/o.yaml
    python3 scripts/k8s_policy.py --service order-service --env production /tmp/o.yaml

`--env base` checks the base (no namespace, placeholder image).
Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

PORTS = {"user-service": 5001, "product-service": 5002, "order-service": 5003, "notification-service": 5004}
# notification-service takes these from its ConfigMap (envFrom); production runs R3 streams.
NOTIFICATION_CONFIG_KEYS = {"APP_NATS_URL", "APP_STREAM_REPLICAS", "APP_SMTP_HOST", "APP_SMTP_PORT", "APP_SMTP_TLS", "APP_SMTP_FROM"}
STREAM_REPLICAS = {"base": "1", "staging": "1", "production": "3"}
NAMESPACES = {"staging": "shop-staging", "production": "shop-production"}
EXPECTED_KINDS = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceAccount"}
ORDER_CONFIG_KEYS = {"APP_USER_SERVICE_URL", "APP_PRODUCT_SERVICE_URL", "APP_REQUEST_DEADLINE_MS"}


def check(service: str, env: str, docs: list[dict]) -> list[str]:
    problems: list[str] = []

    def fail(msg: str) -> None:
        problems.append(f"{service}/{env}: {msg}")

    by_kind: dict[str, list[dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc.get("kind", "?"), []).append(doc)
        meta = doc.get("metadata", {})
        name = meta.get("name", "?")
        if doc.get("kind") == "Secret":
            fail(f"Secret/{name} is rendered: database credentials must not be committed")
        if meta.get("labels", {}).get("app.kubernetes.io/name") != service:
            fail(f"{doc.get('kind')}/{name} is not labelled app.kubernetes.io/name={service}")
        if env in NAMESPACES and meta.get("namespace") != NAMESPACES[env]:
            fail(f"{doc.get('kind')}/{name} is in namespace {meta.get('namespace')!r}, not {NAMESPACES[env]!r}")
        if env in NAMESPACES and meta.get("labels", {}).get("environment") != env:
            fail(f"{doc.get('kind')}/{name} lacks the label environment={env}")
        if doc.get("kind") == "Namespace":
            fail("a Namespace is rendered: namespaces are shared, create them once (deploy/README.md)")

    allowed = EXPECTED_KINDS | ({"ConfigMap"} if service in ("order-service", "notification-service") else set())
    for kind in sorted(set(by_kind) - allowed):
        fail(f"unexpected kind {kind}")
    for kind in sorted(allowed - set(by_kind)):
        fail(f"missing {kind}")
    for kind, items in by_kind.items():
        if len(items) != 1:
            fail(f"{len(items)} objects of kind {kind}, expected exactly one")

    deployments = by_kind.get("Deployment", [])
    if not deployments:
        return problems
    dep = deployments[0]
    spec = dep.get("spec", {})
    selector = spec.get("selector", {}).get("matchLabels", {})
    pod = spec.get("template", {})
    pod_labels = pod.get("metadata", {}).get("labels", {})
    pod_spec = pod.get("spec", {})

    if dep["metadata"].get("name") != service:
        fail(f"Deployment is named {dep['metadata'].get('name')!r}")
    if selector != {"app.kubernetes.io/name": service}:
        fail(f"Deployment selector {selector} should be exactly app.kubernetes.io/name={service} (selectors are immutable)")
    if not all(pod_labels.get(k) == v for k, v in selector.items()):
        fail("pod template labels do not satisfy the Deployment selector")
    if "replicas" in spec:
        fail("Deployment sets spec.replicas: the HorizontalPodAutoscaler owns the replica count")

    psc = pod_spec.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True or psc.get("runAsUser") != 65532:
        fail("pod securityContext must set runAsNonRoot: true and runAsUser: 65532")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        fail("pod seccompProfile must be RuntimeDefault")
    if pod_spec.get("automountServiceAccountToken") is not False:
        fail("pods must not mount a service-account token")

    volumes = {v.get("name"): v for v in pod_spec.get("volumes", [])}
    containers = pod_spec.get("containers", [])
    if len(containers) != 1:
        fail(f"{len(containers)} containers, expected 1")
    for c in containers:
        cname = c.get("name")
        image = c.get("image", "")
        if env in NAMESPACES:
            if not image.startswith(f"ghcr.io/") or not image.split("@")[0].split(":")[0].endswith(f"/{service}"):
                fail(f"container {cname} image {image!r} is not ghcr.io/<owner>/{service}")
            if image.endswith(":latest") or (":" not in image.rsplit("/", 1)[-1] and "@" not in image):
                fail(f"container {cname} image {image!r} has no pinned tag or digest")
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
        if ports.get("http") != PORTS[service]:
            fail(f"container {cname} http port is {ports.get('http')}, expected {PORTS[service]}")
        for probe, path in (("readinessProbe", "/ready"), ("livenessProbe", "/health")):
            got = c.get(probe, {}).get("httpGet", {}).get("path")
            if got != path:
                fail(f"container {cname} {probe} path is {got!r}, expected {path!r}")
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(part, {}):
                    fail(f"container {cname} has no resources.{part}.{r}")
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(f"container {cname} must set allowPrivilegeEscalation: false")
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(f"container {cname} must set readOnlyRootFilesystem: true")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            fail(f"container {cname} must drop ALL capabilities")
        if sc.get("runAsNonRoot") is False or sc.get("runAsUser", 65532) != 65532:
            fail(f"container {cname} overrides the pod's non-root user")
        mounts = {m.get("mountPath"): m.get("name") for m in c.get("volumeMounts", [])}
        tmp = volumes.get(mounts.get("/tmp"), {})
        if "emptyDir" not in tmp:
            fail(f"container {cname} has no emptyDir mounted at /tmp")

        env_vars = {e.get("name"): e for e in c.get("env", [])}
        for name, value in (("APP_PORT", str(PORTS[service])), ("APP_HOST", "0.0.0.0")):
            if env_vars.get(name, {}).get("value") != value:
                fail(f"container {cname} env {name} should be {value!r}")
        db = env_vars.get("APP_DATABASE_URL", {})
        ref = db.get("valueFrom", {}).get("secretKeyRef", {})
        if "value" in db or ref.get("name") != f"{service}-db" or ref.get("key") != "database-url":
            fail(f"container {cname} APP_DATABASE_URL must come from secretKeyRef {service}-db/database-url")
        for name in ORDER_CONFIG_KEYS:
            if service != "order-service":
                if name in env_vars:
                    fail(f"container {cname} sets {name}, which only order-service uses")
                continue
            cm_ref = env_vars.get(name, {}).get("valueFrom", {}).get("configMapKeyRef", {})
            configmaps = {cm["metadata"]["name"]: cm for cm in by_kind.get("ConfigMap", [])}
            cm = configmaps.get(cm_ref.get("name"))
            if cm is None or cm_ref.get("key") not in cm.get("data", {}):
                fail(f"container {cname} env {name} does not resolve to a key of a rendered ConfigMap")

        if service == "notification-service":
            problems.extend(f"{service}/{env}: {p}" for p in notification_config(c, by_kind, env))

    for svc in by_kind.get("Service", []):
        if svc["spec"].get("selector") != selector:
            fail("Service selector differs from the Deployment selector")
        ports = [(p.get("port"), p.get("targetPort")) for p in svc["spec"].get("ports", [])]
        if ports != [(PORTS[service], "http")]:
            fail(f"Service ports {ports}, expected [({PORTS[service]}, 'http')]")
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        if hpa.get("apiVersion") != "autoscaling/v2":
            fail("HorizontalPodAutoscaler must be autoscaling/v2")
        target = hpa["spec"].get("scaleTargetRef", {})
        if (target.get("kind"), target.get("name")) != ("Deployment", service):
            fail(f"HorizontalPodAutoscaler targets {target}")
        lo, hi = hpa["spec"].get("minReplicas", 1), hpa["spec"].get("maxReplicas", 0)
        if not 1 <= lo <= hi:
            fail(f"HorizontalPodAutoscaler replica range {lo}..{hi} is invalid")
        if env == "production" and lo < 2:
            fail("production must run at least 2 replicas")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        if pdb.get("apiVersion") != "policy/v1":
            fail("PodDisruptionBudget must be policy/v1")
        if pdb["spec"].get("selector", {}).get("matchLabels") != selector:
            fail("PodDisruptionBudget selector differs from the Deployment selector")
    return problems


def notification_config(container: dict, by_kind: dict, env: str) -> list[str]:
    """notification-service's settings: one ConfigMap through envFrom, with every key it needs,
    the stream replicas of the environment, and SMTP credentials only from a Secret."""
    problems = []
    configmaps = {cm["metadata"]["name"]: cm for cm in by_kind.get("ConfigMap", [])}
    refs = [e.get("configMapRef", {}).get("name") for e in container.get("envFrom", [])]
    data: dict = {}
    for ref in refs:
        if ref not in configmaps:
            problems.append(f"envFrom names ConfigMap {ref!r}, which is not rendered")
        else:
            data.update(configmaps[ref].get("data", {}))
    for key in sorted(NOTIFICATION_CONFIG_KEYS - set(data)):
        problems.append(f"ConfigMap lacks {key}")
    if data.get("APP_STREAM_REPLICAS") != STREAM_REPLICAS[env]:
        problems.append(f"APP_STREAM_REPLICAS is {data.get('APP_STREAM_REPLICAS')!r}, expected {STREAM_REPLICAS[env]!r}")
    for key in ("APP_SMTP_USERNAME", "APP_SMTP_PASSWORD"):
        if key in data:
            problems.append(f"{key} is in a ConfigMap: credentials come from a Secret")
        env_var = {e.get("name"): e for e in container.get("env", [])}.get(key, {})
        if "value" in env_var:
            problems.append(f"{key} has a literal value: credentials come from a Secret")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", required=True, choices=sorted(PORTS))
    parser.add_argument("--env", required=True, choices=["base", *NAMESPACES])
    parser.add_argument("rendered", type=Path)
    args = parser.parse_args(argv)
    docs = [d for d in yaml.safe_load_all(args.rendered.read_text()) if d]
    problems = check(args.service, args.env, docs)
    for p in problems:
        print(f"  POLICY {p}")
    if not problems:
        print(f"  policy ok: {args.service}/{args.env} ({len(docs)} objects)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
