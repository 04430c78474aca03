#!/usr/bin/env python3
"""Asserts the operator promises of deploy/ (docs/operations.md, "Deployment"):
Kubernetes: seccomp, Pod Security "restricted" settings, probes with time-outs, a required
MONGODB_URI from a Secret, STORE=mongodb, redirect and CORS settings, a preStop pause, a
PodDisruptionBudget, the metrics port, HTTP_WORKERS, STATE_SECRET its own key of
JWT_SECRET's Secret, TRUSTED_PROXIES never a whole network, a NetworkPolicy that lets
only the ingress namespace reach the HTTP port and only the monitoring namespace the
metrics port. Compose: MongoDB health check, the service waiting for it, restart
policy, health check, the first organization, HTTP_WORKERS and STATE_SECRET. The example
settings file: http_workers, and STATE_SECRET named. Dockerfile:
.dockerignore, cache mounts, distroless non-root runtime, HEALTHCHECK.

`check_deploy.py [ROOT]` checks ROOT/deploy (default: this repository); exits 1 listing
every broken promise. `--self-test` breaks each promise in a copy and expects a failure.
"""
import copy
import ipaddress
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def k8s_problems(docs):
    problems = []
    kinds = {d["kind"]: d for d in docs if d}
    dep = kinds.get("Deployment")
    if dep is None:
        return ["k8s: no Deployment"]
    pod = dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"].get("labels", {})
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        problems.append("k8s: pod securityContext.runAsNonRoot is not true")
    for c in pod["containers"]:
        name = c["name"]
        sc = c.get("securityContext", {})
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        if seccomp != "RuntimeDefault":
            problems.append(f"k8s: {name}: seccompProfile is not RuntimeDefault")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"k8s: {name}: allowPrivilegeEscalation is not false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"k8s: {name}: capabilities do not drop ALL")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"k8s: {name}: readOnlyRootFilesystem is not true")
        for probe, path in (("readinessProbe", "/ready"), ("livenessProbe", "/health")):
            p = c.get(probe) or {}
            if p.get("httpGet", {}).get("path") != path:
                problems.append(f"k8s: {name}: {probe} does not GET {path}")
            if not p.get("timeoutSeconds"):
                problems.append(f"k8s: {name}: {probe} has no timeoutSeconds")
        env = {e["name"]: e for e in c.get("env", [])}
        ref = env.get("MONGODB_URI", {}).get("valueFrom", {}).get("secretKeyRef")
        if not ref:
            problems.append(f"k8s: {name}: MONGODB_URI is not taken from a Secret")
        elif ref.get("optional"):
            problems.append(f"k8s: {name}: MONGODB_URI's secretKeyRef is optional")
        if env.get("STORE", {}).get("value") != "mongodb":
            problems.append(f"k8s: {name}: STORE is not mongodb")
        for required in ("ALLOWED_REDIRECT_URIS", "CORS_ALLOWED_ORIGINS", "HTTP_WORKERS"):
            if not env.get(required, {}).get("value"):
                problems.append(f"k8s: {name}: {required} is not set")
        jwt = env.get("JWT_SECRET", {}).get("valueFrom", {}).get("secretKeyRef") or {}
        state = env.get("STATE_SECRET", {}).get("valueFrom", {}).get("secretKeyRef")
        if not state:
            problems.append(f"k8s: {name}: STATE_SECRET is not taken from a Secret")
        elif state.get("name") != jwt.get("name") or state.get("key") == jwt.get("key"):
            problems.append(f"k8s: {name}: STATE_SECRET is not its own key of JWT_SECRET's Secret")
        if "preStop" not in c.get("lifecycle", {}):
            problems.append(f"k8s: {name}: no preStop pause")
        if 9464 not in [p.get("containerPort") for p in c.get("ports", [])]:
            problems.append(f"k8s: {name}: metrics port 9464 is not declared")
        proxies = env.get("TRUSTED_PROXIES", {}).get("value") or ""
        for item in filter(None, (p.strip() for p in proxies.split(","))):
            try:
                net = ipaddress.ip_network(item, strict=False)
            except ValueError:
                continue  # a placeholder: the service refuses it at start-up
            too_wide = net.num_addresses > (256 if net.version == 4 else 2**64)
            if too_wide and (net.is_private or net.is_global):
                problems.append(f"k8s: {name}: TRUSTED_PROXIES trusts a whole network ({item})")
    problems += network_policy_problems(kinds.get("NetworkPolicy"), labels)
    pdb = kinds.get("PodDisruptionBudget")
    if pdb is None:
        problems.append("k8s: no PodDisruptionBudget")
    elif not set(pdb["spec"]["selector"]["matchLabels"].items()) <= set(labels.items()):
        problems.append("k8s: the PodDisruptionBudget does not select the Deployment's pods")
    return problems


def network_policy_problems(policy, labels):
    """Only the ingress namespace reaches port 3000, only the monitoring namespace 9464."""
    if policy is None:
        return ["k8s: no NetworkPolicy"]
    spec = policy["spec"]
    problems = []
    if not set(spec.get("podSelector", {}).get("matchLabels", {}).items()) <= set(labels.items()) \
            or not spec.get("podSelector", {}).get("matchLabels"):
        problems.append("k8s: the NetworkPolicy does not select the Deployment's pods")
    if "Ingress" not in spec.get("policyTypes", []):
        problems.append("k8s: the NetworkPolicy does not restrict ingress")
    allowed = {}
    for rule in spec.get("ingress", []):
        sources = rule.get("from") or []
        ports = [p.get("port") for p in rule.get("ports") or []]
        if not sources or not ports:
            problems.append("k8s: a NetworkPolicy rule allows every source or every port")
            continue
        namespaces = [s.get("namespaceSelector", {}).get("matchLabels", {}) for s in sources]
        if any(not n or "ipBlock" in s for n, s in zip(namespaces, sources)):
            problems.append("k8s: a NetworkPolicy rule names no namespace")
        for port in ports:
            allowed.setdefault(port, []).extend(namespaces)
    if set(allowed) - {3000, 9464}:
        problems.append(f"k8s: the NetworkPolicy opens other ports: {sorted(set(allowed) - {3000, 9464})}")
    if not allowed.get(3000):
        problems.append("k8s: the NetworkPolicy lets nothing reach the HTTP port")
    if not allowed.get(9464):
        problems.append("k8s: the NetworkPolicy lets nothing reach the metrics port")
    if any(n in allowed.get(3000, []) for n in allowed.get(9464, [])):
        problems.append("k8s: the NetworkPolicy lets the ingress namespace reach the metrics port")
    return problems


def compose_problems(compose):
    problems = []
    services = compose.get("services", {})
    mongo = services.get("mongo", {})
    if "mongosh" not in " ".join(map(str, mongo.get("healthcheck", {}).get("test", []))):
        problems.append("compose: mongo has no mongosh health check")
    app = services.get("tether-auth", {})
    depends = app.get("depends_on")
    condition = depends.get("mongo", {}).get("condition") if isinstance(depends, dict) else None
    if condition != "service_healthy":
        problems.append("compose: tether-auth does not wait for mongo to be healthy")
    if app.get("restart") != "unless-stopped":
        problems.append("compose: tether-auth restart is not unless-stopped")
    if "healthcheck" not in " ".join(map(str, app.get("healthcheck", {}).get("test", []))):
        problems.append("compose: tether-auth has no `tether-auth healthcheck` health check")
    environment = app.get("environment") or {}
    for required in ("HTTP_WORKERS", "STATE_SECRET"):
        if not environment.get(required):
            problems.append(f"compose: tether-auth does not set {required}")
    if not any(
        s.get("command", [])[:2] == ["organizations", "create"] for s in services.values()
    ):
        problems.append("compose: no service creates the first organization")
    return problems


def docker_problems(dockerfile, dockerignore):
    problems = []
    ignored = {line.strip().rstrip("/") for line in dockerignore.splitlines()}
    for entry in ("target", ".git", ".tools"):
        if entry not in ignored:
            problems.append(f"docker: .dockerignore does not exclude {entry}")
    if "--mount=type=cache" not in dockerfile:
        problems.append("docker: no dependency cache mounts")
    froms = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]
    if not froms or not (froms[-1].startswith("gcr.io/distroless/") and froms[-1].endswith(":nonroot")):
        problems.append("docker: the runtime is not a distroless nonroot image")
    if not any(l.startswith("HEALTHCHECK") for l in dockerfile.splitlines()) or '"healthcheck"' not in dockerfile:
        problems.append("docker: no HEALTHCHECK with `tether-auth healthcheck`")
    return problems


def toml_problems(example):
    problems = []
    keys = {line.split("=")[0].strip() for line in example.splitlines() if "=" in line and not line.startswith("#")}
    if "http_workers" not in keys:
        problems.append("toml: the example settings file does not set http_workers")
    if "STATE_SECRET" not in example:
        problems.append("toml: the example settings file does not say to set STATE_SECRET")
    return problems


def load(root):
    deploy = root / "deploy"
    return (
        list(yaml.safe_load_all((deploy / "k8s" / "deployment.yaml").read_text())),
        yaml.safe_load((deploy / "compose.yaml").read_text()),
        (deploy / "Dockerfile").read_text(),
        (root / ".dockerignore").read_text(),
        (deploy / "tether-auth.example.toml").read_text(),
    )


def problems_of(k8s, compose, dockerfile, dockerignore, example):
    return (
        k8s_problems(k8s)
        + compose_problems(compose)
        + docker_problems(dockerfile, dockerignore)
        + toml_problems(example)
    )


def self_test(root):
    """Every promise, broken alone, is reported."""
    k8s, compose, dockerfile, dockerignore, example = load(root)

    def container(docs):
        return [d for d in docs if d["kind"] == "Deployment"][0]["spec"]["template"]["spec"]["containers"][0]

    breakages = {
        "seccomp": lambda k, c: [container(k)["securityContext"].pop("seccompProfile"),
                                 [d for d in k if d["kind"] == "Deployment"][0]["spec"]["template"]["spec"]["securityContext"].pop("seccompProfile")],
        "readiness": lambda k, c: container(k)["readinessProbe"].pop("timeoutSeconds"),
        "liveness": lambda k, c: container(k).pop("livenessProbe"),
        "optional uri": lambda k, c: [e for e in container(k)["env"] if e["name"] == "MONGODB_URI"][0]["valueFrom"]["secretKeyRef"].update(optional=True),
        "pdb": lambda k, c: k.remove([d for d in k if d["kind"] == "PodDisruptionBudget"][0]),
        "preStop": lambda k, c: container(k).pop("lifecycle"),
        "metrics port": lambda k, c: container(k).update(ports=[p for p in container(k)["ports"] if p["containerPort"] != 9464]),
        "trusted proxies": lambda k, c: [e for e in container(k)["env"] if e["name"] == "TRUSTED_PROXIES"][0].update(value="10.0.0.0/8"),
        "network policy": lambda k, c: k.remove([d for d in k if d["kind"] == "NetworkPolicy"][0]),
        "open metrics": lambda k, c: [d for d in k if d["kind"] == "NetworkPolicy"][0]["spec"]["ingress"][1].update(
            {"from": [d for d in k if d["kind"] == "NetworkPolicy"][0]["spec"]["ingress"][0]["from"]}),
        "depends_on": lambda k, c: c["services"]["tether-auth"].update(depends_on=["mongo"]),
        "mongo health": lambda k, c: c["services"]["mongo"].pop("healthcheck"),
        "first organization": lambda k, c: c["services"].pop("create-organization"),
        "http workers": lambda k, c: container(k).update(env=[e for e in container(k)["env"] if e["name"] != "HTTP_WORKERS"]),
        "state secret": lambda k, c: container(k).update(env=[e for e in container(k)["env"] if e["name"] != "STATE_SECRET"]),
        "state secret key": lambda k, c: [e for e in container(k)["env"] if e["name"] == "STATE_SECRET"][0]["valueFrom"]["secretKeyRef"].update(key="JWT_SECRET"),
        "compose http workers": lambda k, c: c["x-tether-auth-environment"].pop("HTTP_WORKERS"),
        "compose state secret": lambda k, c: c["x-tether-auth-environment"].pop("STATE_SECRET"),
    }
    failed = []
    for name, breaker in breakages.items():
        k, c = copy.deepcopy(k8s), copy.deepcopy(compose)
        breaker(k, c)
        if not problems_of(k, c, dockerfile, dockerignore, example):
            failed.append(name)
    for name, df, di in (
        ("healthcheck", "\n".join(l for l in dockerfile.splitlines() if not l.startswith("HEALTHCHECK")).replace('"healthcheck"', ""), dockerignore),
        ("dockerignore", dockerfile, dockerignore.replace("target/", "")),
    ):
        if not problems_of(k8s, compose, df, di, example):
            failed.append(name)
    for name, broken in (
        ("toml http workers", "\n".join(l for l in example.splitlines() if not l.startswith("http_workers"))),
        ("toml state secret", example.replace("STATE_SECRET", "")),
    ):
        if not problems_of(k8s, compose, dockerfile, dockerignore, broken):
            failed.append(name)
    if failed:
        print("check_deploy self-test: not detected: " + ", ".join(failed))
        return 1
    print(f"check_deploy self-test: {len(breakages) + 4} broken promises detected")
    return 0


def main(argv):
    if argv[:1] == ["--self-test"]:
        return self_test(ROOT)
    root = pathlib.Path(argv[0]) if argv else ROOT
    problems = problems_of(*load(root))
    for p in problems:
        print(p)
    if problems:
        return 1
    print("deploy/: every promise of docs/operations.md holds")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
