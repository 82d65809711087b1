#!/usr/bin/env bash
# Rebuilds rpmdb.sqlite and Packages (BerkeleyDB hash) from hello.spec and foo.spec.
# Needs Debian's `rpm` (rpmbuild, rpm 4.18, sqlite backend) and `db5.3-util`. Debian's rpm
# cannot write BDB or NDB: Packages is loaded with db5.3_load from the sqlite blobs (rpm's
# bdb_ro backend reads it back: `rpm --define '_db_backend bdb_ro' --dbpath D -qa`), and the
# NDB database is assembled by the unit test from the same blobs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
mkdir -p "$T/SPECS" "$T/db"
cp "$HERE/hello.spec" "$HERE/foo.spec" "$T/SPECS/"
for s in hello foo; do rpmbuild --define "_topdir $T" -bb "$T/SPECS/$s.spec" >/dev/null; done
rpm --dbpath "$T/db" --initdb
rpm --dbpath "$T/db" -i --justdb --nodeps --noscripts "$T"/RPMS/x86_64/*.rpm
cp "$T/db/rpmdb.sqlite" "$HERE/rpmdb.sqlite"
python3 - "$T/db/rpmdb.sqlite" "$T/bdb.dump" <<'PY'
import sqlite3, struct, sys
rows = list(sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute("select hnum, blob from Packages"))
with open(sys.argv[2], "w") as f:
    f.write("VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n")
    for h, b in rows:
        f.write(" " + struct.pack("<I", h).hex() + "\n " + b.hex() + "\n")
    f.write("DATA=END\n")
PY
rm -f "$HERE/Packages"
db5.3_load -c db_pagesize=4096 -f "$T/bdb.dump" "$HERE/Packages"
rm -rf "$T"
