"""Hosts, containers, processes and listening ports (the TCSS asset actions) through the official
Python SDK (typed models and CommonClient), tccli and the Node SDK, against the real dockerd: a
container started here must show with its mount, its process (host PID and PID inside the
container) and the socket it listens on, as `docker inspect` and the kernel report them.
"""
import io
import json
import os
import subprocess
import tarfile
import time
import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.tcss.v20201101 import models

from conftest import HERE, Server, create_pg_database, make_call, make_tcss, tccli_bin
from test_image_scan import IMAGE, SHARED, docker_image_id, poll_until_end, wait_image


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def node(request, tmp_path_factory):
    """A dedicated server (Debian advisories loaded) and a container listening on 127.0.0.1:8123."""
    image_id = docker_image_id()
    root = tmp_path_factory.mktemp(f"assets-{request.param}")
    database = None
    if request.param == "postgres":
        database = create_pg_database()
        if database is None:
            pytest.skip("SHIPSHAPE_TEST_PG unset")
    # containerd's containers join the assets where its socket is configured (test_containerd_container).
    containerd = os.environ.get("SHIPSHAPE_TEST_CONTAINERD")
    srv = Server(request.param, root, database=database, extra=["--containerd-socket", containerd] if containerd else [])
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    srv.cli("db", "import", str(SHARED / "vulndata" / "osv" / "Debian"))
    mount = root / "mounted"
    mount.mkdir()
    name = f"shipshape-e2e-assets-{uuid.uuid4().hex[:8]}"
    cid = subprocess.run(["docker", "run", "-d", "--name", name, "-v", f"{mount}:/data:ro", IMAGE,
                          "python3", "-m", "http.server", "8123", "--bind", "127.0.0.1"],
                         check=True, capture_output=True, text=True, timeout=120).stdout.strip()
    try:
        srv.start()
        yield srv, cid, name, image_id, mount
    finally:
        srv.stop()
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True, timeout=120)


_last_refresh_second = [0]


def refresh(call):
    # The SDK signs with whole seconds: a second `CreateRefreshTask {}` within the same second as the
    # previous one carries the same signature and is refused as a replay (a mutating action accepts a
    # signature once). Sign it in a new second.
    while int(time.time()) <= _last_refresh_second[0]:
        time.sleep(0.05)
    _last_refresh_second[0] = int(time.time())
    r = call("CreateRefreshTask", {})
    assert r["CreateResult"] == "Succ" and r["TaskId"] >= 1 and r["NewTaskID"] == str(r["TaskId"])
    deadline = time.time() + 120
    while time.time() < deadline:
        s = call("DescribeRefreshTask", {"TaskId": r["TaskId"]})["TaskStatus"]
        assert s in ("Task_New", "Task_Running", "Task_Finish"), s
        if s == "Task_Finish":
            return r["TaskId"]
        time.sleep(0.3)
    raise AssertionError("refresh task never finished")


def listening(call, cid):
    """Waits until the container's socket is listening (python needs a moment to bind)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        refresh(call)
        ports = call("DescribeAssetPortList", {"Limit": 100, "Filters": [{"Name": "ContainerID", "Values": [cid]}]})
        if any(p["ContainerPort"] == 8123 for p in ports["List"]):
            return ports
        time.sleep(1)
    raise AssertionError("the container's listener never showed in DescribeAssetPortList")


def test_containers_processes_ports_hosts(node, tmp_path):
    srv, cid, name, image_id, mount = node
    call = make_call(srv.endpoint, srv.first_key())
    ports = listening(call, cid)
    inspect = json.loads(subprocess.run(["docker", "inspect", cid], check=True, capture_output=True, text=True).stdout)[0]
    host_pid = inspect["State"]["Pid"]

    lst = call("DescribeAssetContainerList", {"Limit": 100, "Filters": [{"Name": "ContainerName", "Values": [name], "ExactMatch": True}]})
    assert lst["TotalCount"] == 1
    c = lst["List"][0]
    assert (c["ContainerID"], c["ContainerName"], c["Status"], c["ImageID"], c["ImageName"]) == (cid, name, "running", image_id, IMAGE)
    assert c["RunAs"] == "root" and "http.server" in c["Cmd"] and c["RamUsage"] > 0 and c["NetStatus"] == "NORMAL"
    by_status = call("DescribeAssetContainerList", {"Limit": 100, "Filters": [{"Name": "Status", "Values": ["1"]}]})
    assert cid in [x["ContainerID"] for x in by_status["List"]], "status code 1 is running"

    detail = call("DescribeAssetContainerDetail", {"ContainerId": cid})
    assert [(m["Source"], m["Destination"], m["RW"]) for m in detail["Mounts"]] == [(str(mount), "/data", False)]
    assert detail["ProcessCnt"] >= 1 and detail["PortCnt"] >= 1 and detail["HostStatus"] == "ONLINE"
    assert detail["Network"]["Mode"] == inspect["HostConfig"]["NetworkMode"]

    procs = call("DescribeAssetProcessList", {"Limit": 100, "Filters": [{"Name": "ContainerID", "Values": [cid]}]})
    main = [p for p in procs["List"] if p["PID"] == host_pid]
    assert len(main) == 1, procs
    assert main[0]["ContainerPID"] == 1 and main[0]["ProcessName"].startswith("python3") and main[0]["RunAs"] == "root"
    assert main[0]["Exe"].startswith("/usr/bin/python3") and main[0]["StartTime"][:4].isdigit()

    p = [x for x in ports["List"] if x["ContainerPort"] == 8123][0]
    assert (p["Type"], p["ListenContainer"], p["ContainerPID"], p["ContainerName"]) == ("tcp", "127.0.0.1:8123", 1, name)
    assert p["ProcessName"].startswith("python3")

    hosts = call("DescribeAssetHostList", {"Limit": 100})
    assert hosts["TotalCount"] == 1
    h = hosts["List"][0]
    server_version = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True).stdout.strip()
    assert h["DockerVersion"] == server_version and h["Status"] == "ONLINE" and h["CoresCnt"] >= 1
    hd = call("DescribeAssetHostDetail", {"HostId": h["HostID"]})
    kernel = subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
    assert hd["KernelVersion"] == kernel and hd["DockerVersion"] == server_version and hd["DockerRootDir"]
    assert call("DescribeAssetHostList", {"Filters": [{"Name": "Status", "Values": ["OFFLINE"]}]})["TotalCount"] == 0
    # Process and port rows name their container and host the way the host list does.
    place = {"ContainerName": name, "HostID": h["HostID"], "HostIP": h["HostIP"], "HostName": h["HostName"], "NodeType": "NORMAL"}
    for row in (main[0], p):
        assert {k: row[k] for k in place} == place, row

    summary = call("DescribeAssetSummary", {})
    all_containers = call("DescribeAssetContainerList", {"Limit": 100})
    assert summary["ContainerCnt"] == all_containers["TotalCount"] >= 1
    assert summary["ContainerRunning"] >= 1 and summary["HostCnt"] == summary["HostOnline"] == 1
    assert summary["ImageCnt"] == call("DescribeAssetImageList", {"Limit": 100})["TotalCount"]
    assert summary["ProcessCnt"] >= 1 and summary["ListenPortCnt"] >= 1
    cs = call("DescribeContainerAssetSummary", {})
    assert cs["ContainerTotalCnt"] == summary["ContainerCnt"] and cs["HostCnt"] == 1
    last = call("DescribeAssetSyncLastTime", {})
    assert last["TaskStatus"] == "Task_Finish" and last["TaskProcess"] == 100 and last["AssetSyncLastTime"]

    # The image list's HostCnt is now computed: the engine's image is on its one host.
    img = wait_image(call, image_id)
    assert img["HostCnt"] == 1


def test_components_after_a_vulnerability_scan(node):
    srv, cid, _, image_id, _ = node
    call = make_call(srv.endpoint, srv.first_key())
    refresh(call)
    before = call("DescribeAssetComponentList", {"ContainerID": cid, "Limit": 100})
    wait_image(call, image_id)
    task = call("CreateAssetImageScanTask", {"Images": [image_id], "ScanVul": True})["TaskID"]
    poll_until_end(call, task)
    after = call("DescribeAssetComponentList", {"ContainerID": cid, "Limit": 100})
    listed = wait_image(call, image_id)
    assert before["TotalCount"] == 0, "no components are known before the image is scanned"
    assert 0 < after["TotalCount"] <= listed["ComponentCnt"]
    names = call("DescribeAssetComponentList", {"ContainerID": cid, "Limit": 100,
                                                "Filters": [{"Name": "Name", "Values": ["openssl"], "ExactMatch": False}]})
    assert 0 < names["TotalCount"] < after["TotalCount"] and all("openssl" in x["Name"] for x in names["List"])


def test_sdk_models_tccli_node_and_errors(node, tmp_path):
    srv, cid, _, _, _ = node
    key = srv.first_key()
    tcss = make_tcss(srv.endpoint, key)
    r = tcss.DescribeAssetContainerList(models.DescribeAssetContainerListRequest())
    assert r.TotalCount >= 1 and r.List[0].ContainerID
    req = models.DescribeAssetHostDetailRequest()
    req.HostId = tcss.DescribeAssetHostList(models.DescribeAssetHostListRequest()).List[0].HostID
    assert tcss.DescribeAssetHostDetail(req).DockerVersion
    s = tcss.DescribeAssetSummary(models.DescribeAssetSummaryRequest())
    assert s.HostCnt == 1 and s.ContainerCnt >= 1
    call = make_call(srv.endpoint, key)
    for action, params, code in [
        ("DescribeAssetContainerDetail", {"ContainerId": "nope"}, "ResourceNotFound"),
        ("DescribeAssetHostDetail", {"HostId": "nope"}, "ResourceNotFound"),
        ("DescribeAssetComponentList", {"ContainerID": "nope"}, "ResourceNotFound"),
        ("DescribeAssetContainerList", {"Filters": [{"Name": "Bogus", "Values": ["x"]}]}, "InvalidParameter"),
        ("DescribeAssetContainerList", {"By": "Bogus"}, "InvalidParameter"),
        ("DescribeAssetContainerList", {"Limit": 1000}, "InvalidParameter"),
        ("CreateRefreshTask", {"ClusterIDs": ["cls-1"]}, "InvalidParameter"),
    ]:
        with pytest.raises(TencentCloudSDKException) as e:
            call(action, params)
        assert e.value.code == code, (action, e.value.code, e.value.message)
    assert call("DescribeRefreshTask", {"TaskId": 999999})["TaskStatus"] == "Task_NoExist"
    # Another account sees the shared node too, but not this account's refresh tasks.
    other = srv.new_key()
    other_call = make_call(srv.endpoint, other)
    last = call("DescribeAssetSyncLastTime", {})["TaskId"]
    assert other_call("DescribeRefreshTask", {"TaskId": last})["TaskStatus"] == "Task_NoExist"

    env_home = tmp_path / "home"
    env_home.mkdir()
    out = subprocess.run([tccli_bin(), "tcss", "DescribeAssetSummary", "--endpoint", f"http://{srv.endpoint}"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HOME": str(env_home), "TENCENTCLOUD_SECRET_ID": key.secret_id,
                              "TENCENTCLOUD_SECRET_KEY": key.secret_key, "TENCENTCLOUD_REGION": "ap-guangzhou"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["HostCnt"] == 1

    node = subprocess.run(["node", str(HERE / "node" / "call.js"), "--endpoint", srv.endpoint, "--action", "DescribeAssetPortList",
                           "--params", json.dumps({"Limit": 100, "Filters": [{"Name": "ContainerID", "Values": [cid]}]})],
                          capture_output=True, text=True, timeout=120, cwd=HERE / "node",
                          env={**os.environ, "SHIPSHAPE_SECRET_ID": key.secret_id, "SHIPSHAPE_SECRET_KEY": key.secret_key})
    assert node.returncode == 0, node.stderr
    out = json.loads(node.stdout)
    assert out["ok"], out
    assert any(p["ContainerPort"] == 8123 for p in out["response"]["List"]), out


def ctr(sock, ns, *args, check=True):
    return subprocess.run(["ctr", "-a", sock, "-n", ns, *args], check=check, capture_output=True, text=True, timeout=120)


def remove_namespace(sock, ns, cid, image_ref):
    """Removes a test namespace: its container, image, snapshots (children before parents: a parent
    cannot go while a child exists, so passes until none is left), blobs and the namespace itself."""
    ctr(sock, ns, "containers", "rm", cid, check=False)
    ctr(sock, ns, "images", "rm", image_ref, check=False)
    for _ in range(20):
        snaps = [line.split()[0] for line in ctr(sock, ns, "snapshots", "--snapshotter", "native", "ls", check=False).stdout.splitlines()[1:] if line.split()]
        if not snaps:
            break
        for k in snaps:
            ctr(sock, ns, "snapshots", "--snapshotter", "native", "rm", k, check=False)
    # Blobs of an import cut short belong to no image.
    for digest in ctr(sock, ns, "content", "ls", "-q", check=False).stdout.split():
        ctr(sock, ns, "content", "rm", digest, check=False)
    subprocess.run(["ctr", "-a", sock, "namespaces", "rm", ns], capture_output=True, timeout=60)


def test_containerd_container(node, tmp_path):
    """A container created with ctr in a namespace of its own (not Docker's `moby`) shows in the
    container list through the SDK's typed models, with its image, state, mount and network mode from
    its OCI spec, and counts in DescribeAssetSummary's ContainerCnt; once removed, it leaves both."""
    sock = os.environ.get("SHIPSHAPE_TEST_CONTAINERD")
    if not sock:
        pytest.skip("SHIPSHAPE_TEST_CONTAINERD unset")
    srv, *_ = node
    run = uuid.uuid4().hex[:8]
    ns, cid = f"shipshape-e2e-{run}", f"shipshape-e2e-ctrd-{run}"
    tag = f"shipshape-e2e/ctrd:{run}"
    image_ref = f"docker.io/{tag}"
    # A one-file image, built from a tar (as crates/compliance/tests/it/live.rs does), imported into containerd.
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as t:
        body = b"#!/bin/sh\necho app\n"
        info = tarfile.TarInfo("app")
        info.size, info.mode = len(body), 0o755
        t.addfile(info, io.BytesIO(body))
    subprocess.run(["docker", "import", "--change", 'CMD ["/app"]', str(rootfs), tag], check=True, capture_output=True, timeout=120)
    archive = tmp_path / "img.tar"
    tcss = make_tcss(srv.endpoint, srv.first_key())
    call = make_call(srv.endpoint, srv.first_key())

    def counted():
        """ContainerCnt, the list's TotalCount and the ids of its first page, read from one stored snapshot
        (other tests' Docker containers come and go on this machine, and the periodic collection may replace
        it between calls)."""
        for _ in range(10):
            cnt = tcss.DescribeAssetSummary(models.DescribeAssetSummaryRequest()).ContainerCnt
            req = models.DescribeAssetContainerListRequest()
            req.Limit = 100
            lst = tcss.DescribeAssetContainerList(req)
            mine = listed().TotalCount
            if cnt == lst.TotalCount == tcss.DescribeAssetSummary(models.DescribeAssetSummaryRequest()).ContainerCnt:
                return cnt, mine, [x.ContainerID for x in lst.List]
            time.sleep(0.5)
        raise AssertionError("ContainerCnt never matched the container list")

    def listed():
        req = models.DescribeAssetContainerListRequest()
        f = models.AssetFilters()
        f.Name, f.Values, f.ExactMatch = "ContainerID", [cid], True
        req.Filters, req.Limit = [f], 100
        return tcss.DescribeAssetContainerList(req)

    try:
        subprocess.run(["docker", "save", tag, "-o", str(archive)], check=True, capture_output=True, timeout=120)
        ctr(sock, ns, "images", "import", "--snapshotter", "native", str(archive))
        refresh(call)
        _, mine, _ = counted()
        assert mine == 0
        ctr(sock, ns, "containers", "create", "--snapshotter", "native",
            "--mount", "type=bind,src=/etc/hostname,dst=/etc/shipshape-e2e,options=rbind:ro", image_ref, cid)
        refresh(call)
        r = listed()
        assert r.TotalCount == 1, r.to_json_string()
        c = r.List[0]
        assert (c.ContainerID, c.ContainerName, c.ImageName, c.Status) == (cid, cid, image_ref, "created")
        assert c.RunAs == "root" and c.Cmd == "/app" and c.HostID
        cnt, mine, ids = counted()
        assert mine == 1 and cnt >= 1
        # Docker's own containers (containerd namespace `moby`) are listed once, as Docker's.
        assert len(ids) == len(set(ids))
        req = models.DescribeAssetContainerDetailRequest()
        req.ContainerId = cid
        d = tcss.DescribeAssetContainerDetail(req)
        mount = [m for m in d.Mounts if m.Destination == "/etc/shipshape-e2e"]
        assert len(mount) == 1 and (mount[0].Type, mount[0].Source, mount[0].RW) == ("bind", "/etc/hostname", False), d.to_json_string()
        # ctr gives a container without --net-host a network namespace of its own.
        assert d.Network.Mode == "none" and d.ProcessCnt == 0, d.to_json_string()
    finally:
        remove_namespace(sock, ns, cid, image_ref)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)
    refresh(call)
    assert counted()[1] == 0
