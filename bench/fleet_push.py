"""Pushes N images that share a base image's layers and add one small unique layer each, to a
registry over its HTTP API (plain HTTP, anonymous): the base's blobs are uploaded once (by the
caller, with skopeo), then per image one layer blob, one config blob and one manifest. Far cheaper
than N skopeo copies, and what a fleet of services built FROM one base looks like.
   usage: fleet_push.py REGISTRY BASE_REPO:TAG COUNT DEST_REPO_PREFIX
"""
import gzip
import hashlib
import io
import json
import sys
import tarfile
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

REG, BASE, COUNT, PREFIX = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def req(method, path, data=None, headers=None):
    r = urllib.request.Request(f"http://{REG}{path}", data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {path}: {e.code} {e.read()[:300]!r}") from None


def upload(repo, blob):
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    _, h, _ = req("POST", f"/v2/{repo}/blobs/uploads/")
    loc = h["Location"]
    loc = loc if loc.startswith("http") else f"http://{REG}{loc}"
    sep = "&" if "?" in loc else "?"
    r = urllib.request.Request(f"{loc}{sep}digest={digest}", data=blob, method="PUT",
                               headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(r, timeout=60).read()
    return digest


def mount(repo, src_repo, digest):
    # Cross-repository mount: the base's blobs are linked, not copied.
    st, _, _ = req("POST", f"/v2/{repo}/blobs/uploads/?mount={digest}&from={src_repo}")
    assert st == 201, (st, digest)


base_repo, base_tag = BASE.rsplit(":", 1)
_, h, raw = req("GET", f"/v2/{base_repo}/manifests/{base_tag}", headers={"Accept": f"{DOCKER_MANIFEST}, {OCI_MANIFEST}"})
manifest = json.loads(raw)
_, _, cfg_raw = req("GET", f"/v2/{base_repo}/blobs/{manifest['config']['digest']}")
base_cfg = json.loads(cfg_raw)


def one(i):
    repo = f"{PREFIX}-{i // PER_REPO}"
    # The unique layer: one small file (a service's binary or config stand-in).
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w") as t:
        body = f"service {i}\n".encode() * 64
        info = tarfile.TarInfo(f"srv/app-{i}/config.txt")
        info.size = len(body)
        t.addfile(info, io.BytesIO(body))
    diff = tar_buf.getvalue()
    layer = gzip.compress(diff, mtime=0)
    for l in manifest["layers"]:
        mount(repo, base_repo, l["digest"])
    layer_digest = upload(repo, layer)
    cfg = json.loads(json.dumps(base_cfg))
    cfg["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(diff).hexdigest())
    cfg.setdefault("history", []).append({"created_by": f"COPY app-{i}", "created": "2026-01-01T00:00:00Z"})
    cfg_blob = json.dumps(cfg).encode()
    cfg_digest = upload(repo, cfg_blob)
    m = json.loads(json.dumps(manifest))
    m["config"] = {**m["config"], "digest": cfg_digest, "size": len(cfg_blob)}
    layer_type = manifest["layers"][0]["mediaType"]
    m["layers"].append({"mediaType": layer_type, "digest": layer_digest, "size": len(layer)})
    req("PUT", f"/v2/{repo}/manifests/v{i}", data=json.dumps(m).encode(), headers={"Content-Type": manifest["mediaType"]})


# One writer per repository: docker-registry rewrites shared links on each push to a repository, and
# concurrent pushes to one repository can read them half written (DIGEST_INVALID).
PER_REPO = 10


def repo_batch(r):
    for i in range(r * PER_REPO, min(COUNT, (r + 1) * PER_REPO)):
        one(i)


with ThreadPoolExecutor(8) as ex:
    list(ex.map(repo_batch, range((COUNT + PER_REPO - 1) // PER_REPO)))
print(f"pushed {COUNT} images to {REG}/{PREFIX}-*")
