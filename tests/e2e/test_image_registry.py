"""Images of user-configured registries (`serve --registries FILE`) in the image inventory,
against the real registries started by scripts/services.sh (anonymous :5000, basic auth :5001).

An image pushed from the engine to a registry keeps its image id (the config digest), so it is
one asset with all its names; an image only in a registry is listed and scanned from there.
"""
import io
import os
import signal
import socket
import subprocess
import tarfile
import time
import uuid

import pytest

from conftest import Server, make_call, services_required
from test_image_scan import IMAGE, docker_image_id, no_secrets, poll_until_end, wait_image

ANON = os.environ.get("SHIPSHAPE_TEST_REGISTRY")
AUTH = os.environ.get("SHIPSHAPE_TEST_REGISTRY_AUTH")
USER = os.environ.get("SHIPSHAPE_TEST_REGISTRY_USER")
PASSWORD = os.environ.get("SHIPSHAPE_TEST_REGISTRY_PASSWORD")
# A planted AWS key pair (also in ../shared/testimages/plants.json, so no_secrets knows it).
ENV_FILE = b"AWS_ACCESS_KEY_ID=AKIAGN2LZ5PJA5VZNVAB\nAWS_SECRET_ACCESS_KEY=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\n"


def need_registries():
    if not (ANON and AUTH and USER and PASSWORD):
        if services_required():
            pytest.fail("SHIPSHAPE_TEST_SERVICES=1 but the SHIPSHAPE_TEST_REGISTRY* variables are unset")
        pytest.skip("no test registries")


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def push_registry_only(tmp_path, repo, tag):
    """A one-layer image (docker import of a tar holding app/.env) copied to the auth registry
    with skopeo, then removed from dockerd: it exists only in the registry."""
    layer = tmp_path / "layer.tar"
    with tarfile.open(layer, "w") as t:
        for d in ("app",):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            t.addfile(info)
        info = tarfile.TarInfo("app/.env")
        info.size = len(ENV_FILE)
        info.mode = 0o600
        t.addfile(info, io.BytesIO(ENV_FILE))
    local = f"{repo}:{tag}"
    subprocess.run(["docker", "import", str(layer), local], check=True, capture_output=True, timeout=120)
    image_id = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", local], check=True, capture_output=True,
                              text=True, timeout=60).stdout.strip()
    remote = f"{AUTH}/{repo}:{tag}"
    subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--dest-creds", f"{USER}:{PASSWORD}",
                    f"docker-daemon:{local}", f"docker://{remote}"], check=True, capture_output=True, timeout=300)
    subprocess.run(["docker", "rmi", local], check=True, capture_output=True, timeout=120)
    return remote, image_id


def find(call, name_filter, exact=True):
    return call("DescribeAssetImageList", {"Limit": 100, "Filters": [{"Name": "ImageName", "Values": [name_filter], "ExactMatch": exact}]})


def wait_for(pred, what, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_registry_images_in_inventory_and_scanned_from_the_registry(tmp_path):
    need_registries()
    bookworm_id = docker_image_id()
    # A repository of its own per run: the registries outlive test runs on a workstation.
    repo = f"shipshape-e2e/regonly-{uuid.uuid4().hex[:10]}"
    remote, regonly_id = push_registry_only(tmp_path, repo, "1")
    dead = f"127.0.0.1:{closed_port()}"
    cfg = tmp_path / "registries.toml"
    cfg.write_text(f"""
[[registry]]
host = "{AUTH}"
insecure = true
username = "{USER}"
password_env = "SHIPSHAPE_E2E_REGISTRY_PASSWORD"
repositories = ["shipshape-test/bookworm-app", "{repo}"]

# every repository of the catalog
[[registry]]
host = "{ANON}"
insecure = true

# down: its listing fails, the others are unaffected
[[registry]]
host = "{dead}"
insecure = true
""")
    os.environ["SHIPSHAPE_E2E_REGISTRY_PASSWORD"] = PASSWORD
    try:
        # A long period: after the first listing only SIGHUP refreshes the inventory.
        srv = Server("sqlite", tmp_path / "srv", extra=["--registries", str(cfg), "--inventory-every", "3600"]).start()
    finally:
        del os.environ["SHIPSHAPE_E2E_REGISTRY_PASSWORD"]
    try:
        call = make_call(srv.endpoint, srv.first_key())
        # The registry-only image: listed under its registry name, with its config digest.
        row = wait_for(lambda: (find(call, remote)["List"] or [None])[0], f"{remote} in the inventory")
        assert row["ImageID"] == regonly_id and row["ImageName"] == remote and row["Size"] > 0
        # The engine's image, also in both registries: one asset, the engine's name first,
        # findable by every name.
        wait_image(call, bookworm_id)
        for name in (f"{ANON}/{IMAGE}", f"{AUTH}/{IMAGE}"):
            r = wait_for(lambda: find(call, name)["List"], f"{name} merged into the engine's asset")
            assert [x["ImageID"] for x in r] == [bookworm_id]
            assert r[0]["ImageName"] == IMAGE
        by_id = call("DescribeAssetImageList", {"Filters": [{"Name": "ImageID", "Values": [bookworm_id], "ExactMatch": True}]})
        assert by_id["TotalCount"] == 1
        assert "image inventory refresh failed" in srv.log() and dead in srv.log()

        # A new tag pushed now shows up (as one more name of the same image) on SIGHUP.
        retag = remote.rsplit(":", 1)[0] + ":retagged-" + uuid.uuid4().hex[:6]
        subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                        "--src-creds", f"{USER}:{PASSWORD}", "--dest-creds", f"{USER}:{PASSWORD}",
                        f"docker://{remote}", f"docker://{retag}"], check=True, capture_output=True, timeout=300)
        time.sleep(2)
        assert find(call, retag)["TotalCount"] == 0
        srv.proc.send_signal(signal.SIGHUP)
        r = wait_for(lambda: find(call, retag)["List"], f"{retag} after SIGHUP", timeout=30)
        assert [x["ImageID"] for x in r] == [regonly_id]
        assert call("DescribeAssetImageList", {"Filters": [{"Name": "ImageID", "Values": [regonly_id], "ExactMatch": True}]})["TotalCount"] == 1

        # Scan both: the registry-only image can only come from the registry; the engine's
        # image is read from a registry too (layer by layer), not exported from dockerd.
        task = call("CreateAssetImageScanTask", {"Images": [remote, bookworm_id], "ScanRisk": True})["TaskID"]
        last, _ = poll_until_end(call, task)
        assert last["SuccessCount"] == last["ImageTotal"] == 2, last
        risks = call("DescribeAssetImageRiskList", {"ImageID": regonly_id, "Limit": 100})
        assert risks["TotalCount"] >= 1 and any("/app/.env" in x["Desc"] for x in risks["List"]), risks
        no_secrets(risks)
        log = srv.log()
        assert f'Registry {{ reference: "{AUTH}/{repo}@' in log
        assert "Docker { name" not in log, "an image held by a configured registry was exported from dockerd"
        docker_risks = call("DescribeAssetImageRiskList", {"ImageID": bookworm_id, "Limit": 100})
        assert docker_risks["TotalCount"] >= 5

        # Without the registries file the registry rows leave; the engine's image stays.
        srv.stop()
        srv.extra = []
        srv.start()
        call = make_call(srv.endpoint, srv.first_key())
        wait_for(lambda: find(call, remote)["TotalCount"] == 0, "the unconfigured registry's image to leave")
        assert find(call, IMAGE)["TotalCount"] == 1
        assert find(call, f"{AUTH}/{IMAGE}")["TotalCount"] == 0
    finally:
        srv.stop()


@pytest.mark.parametrize("body,message", [
    ('[[registry]]\nhost = "r.example:5000"\nusername = "u"\npassword_env = "SHIPSHAPE_E2E_UNSET_VAR"\n', "SHIPSHAPE_E2E_UNSET_VAR"),
    ('[[registry]]\nhost = "r.example:5000"\nusername = "u"\n', "username and password go together"),
    ('[[registry]]\nhost = "r.example:5000"\nbogus = 1\n', "bogus"),
    ('[[registry]]\nhost = "r.example/x"\n', "HOST[:PORT]"),
    ('[[registry]]\nhost = "a:1"\n[[registry]]\nhost = "a:1"\n', "listed twice"),
])
def test_bad_registries_file_is_refused(tmp_path, body, message):
    cfg = tmp_path / "registries.toml"
    cfg.write_text(body)
    srv = Server("sqlite", tmp_path / "srv", extra=["--registries", str(cfg)])
    with pytest.raises(RuntimeError) as e:
        srv.start()
    assert message in str(e.value)
    assert "registries file" in str(e.value)
