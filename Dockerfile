# The user-code image: the mlops_assets code location, served by a Dagster code server. In
# Kubernetes the official Helm chart runs it as a user deployment and starts every run in a pod of
# this same image (K8sRunLauncher); see deploy/k8s/README.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MLOPS_ASSETS_PROJECT_DIR=/opt/mlops-assets \
    MLOPS_ASSETS_ARTIFACTS_DIR=/var/lib/mlops-assets/artifacts

# git: DVC and the git-change sensor call it. Unpinned on purpose: Debian security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/mlops-assets

# The package first, data and parameters last: editing params.yaml does not reinstall TensorFlow.
# dagster-k8s: the run pods load the instance, whose run launcher is the K8sRunLauncher.
COPY pyproject.toml README.md ./
COPY mlops_assets/ mlops_assets/
# The project's own dependencies are pinned in pyproject.toml. TENSORFLOW: the pyproject extra
# naming the TensorFlow build, `cpu` (tensorflow-cpu) or `tensorflow` (the GPU-capable one).
ARG TENSORFLOW=cpu
# hadolint ignore=DL3013
RUN pip install ".[deploy,${TENSORFLOW}]" "dagster-k8s==0.29.27"

COPY params.yaml ./
COPY data/ data/

RUN useradd --create-home --uid 10001 dagster \
    && mkdir -p /var/lib/mlops-assets \
    && chown dagster /var/lib/mlops-assets
USER 10001

EXPOSE 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", \
     "-m", "mlops_assets.definitions", "--location-name", "mlops_assets"]
