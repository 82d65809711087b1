#!/usr/bin/env python3
"""Extracts a docker-archive (`docker save` tar) into one rootfs directory: the layers of
manifest.json in order, whiteouts applied (`.wh.NAME` removes NAME, `.wh..wh..opq` empties the
directory), device nodes skipped. For peers that scan a directory (yr, yara, clamscan).
Usage: docker_archive_rootfs.py ARCHIVE.tar OUT_DIR"""
import json, os, shutil, sys, tarfile


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def apply_layer(layer, out):
    members = []
    for m in layer:
        d, base = os.path.split(m.name)
        if base == ".wh..wh..opq":
            target = os.path.join(out, d)
            if os.path.isdir(target):
                for e in os.listdir(target):
                    remove(os.path.join(target, e))
        elif base.startswith(".wh."):
            remove(os.path.join(out, d, base[4:]))
        elif not (m.ischr() or m.isblk() or m.isfifo()):
            members.append(m)
    # A file replacing a directory (or the other way round) in a later layer.
    for m in members:
        p = os.path.join(out, m.name)
        if os.path.lexists(p) and (m.isdir() != (os.path.isdir(p) and not os.path.islink(p))):
            remove(p)
    layer.extractall(out, members=members, filter="tar")


def main():
    archive, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))
        for name in manifest[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(name)) as layer:
                apply_layer(layer, out)


if __name__ == "__main__":
    main()
