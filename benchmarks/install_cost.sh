#!/usr/bin/env bash
# What a fresh install of one unmask source tree costs: wall time, bytes fetched from the package index, and whether
# pip backtracked ("pip is looking at multiple versions"). One JSON line on stdout; pip's log and --report are kept.
#
#   benchmarks/install_cost.sh SRC PYTHON MODE WORK
#     SRC     an unmask source tree (a clone, or `git archive REV | tar -x -C DIR` for an older revision)
#     PYTHON  the interpreter of the fresh venv (python3.10 ... python3.13)
#     MODE    quick  = the README's first quick-start install:  pip install -e .
#             test   = its second (and .ci/run's):              pip install torch==2.13.0 && pip install -e ".[train,test]"
#     WORK    an empty scratch folder (venv, pip cache, log, report)
#
# The venv's own pip is used as it comes (no upgrade), as the quick start does. `http_mb` adds up pip's
# "Downloading NAME (SIZE)" lines (files fetched from the index over HTTP); `local_mb` the wheels pip read from local
# folders or file:// indexes (this machine's pip config has some, e.g. the pinned CPU torch), backtracked ones too:
# elsewhere each would be a download. `total_mb` is both. `multi_version`: projects pip took several versions of.
set -euo pipefail
SRC=$(cd "$1" && pwd); PY=$2; MODE=$3; WORK=$4
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
rm -rf "$WORK/venv"
"$PY" -m venv "$WORK/venv"
PIP=("$WORK/venv/bin/python" -m pip --no-cache-dir --log "$WORK/pip.log")
: > "$WORK/pip.log"
start=$(date +%s.%N)
cd "$SRC"
if [ "$MODE" = test ]; then
  "${PIP[@]}" install torch==2.13.0 --report "$WORK/report-torch.json" > "$WORK/out.txt" 2>&1
  "${PIP[@]}" install -e ".[train,test]" --report "$WORK/report.json" >> "$WORK/out.txt" 2>&1
else
  "${PIP[@]}" install -e . --report "$WORK/report.json" > "$WORK/out.txt" 2>&1
fi
end=$(date +%s.%N)
"$WORK/venv/bin/python" - "$WORK" "$start" "$end" "$PY" "$MODE" <<'EOF'
import json, os, re, sys
work, start, end, py, mode = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
out = open(os.path.join(work, "out.txt"), encoding="utf-8", errors="replace").read()
UNIT = {"bytes": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}
http = sum(float(n) * UNIT[u] for n, u in re.findall(r"Downloading \S+ \(([\d.]+) (bytes|kB|MB|GB)\)", out))
reports = [json.load(open(os.path.join(work, f))) for f in ("report-torch.json", "report.json")
           if os.path.isfile(os.path.join(work, f))]
items = [i for r in reports for i in r.get("install", [])]
# Every wheel pip read from a local folder or file:// index (kept and backtracked ones alike): on a machine
# without these local copies each would be a download.
local = sum(os.path.getsize(p) for p in set(re.findall(r"Processing (/\S+\.whl)", out)) if os.path.isfile(p))
# Wheels fetched or read, by project: how many versions of each pip took before settling.
fetched = re.findall(r"(?:Downloading|Processing) (?:\S+/)?([A-Za-z0-9_.]+?)-(\d[^-]*)-\S+\.whl", out)
versions: dict[str, set] = {}
for name, ver in fetched:
    versions.setdefault(name.lower().replace("_", "-"), set()).add(ver)
print(json.dumps({
    "python": py, "mode": mode, "seconds": round(end - start, 1),
    "http_mb": round(http / 1e6, 1), "local_mb": round(local / 1e6, 1), "total_mb": round((http + local) / 1e6, 1),
    "backtracked": "looking at multiple versions" in out,
    "multi_version": {k: sorted(v) for k, v in versions.items() if len(v) > 1},
    "installed": len(items),
    "versions": {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in items
                 if i["metadata"]["name"].lower() in ("numpy", "torch", "mediapipe", "jaxlib", "opencv-contrib-python", "av")},
}))
EOF
