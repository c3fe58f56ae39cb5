"""The README's model table: one markdown table from several `unmask eval --json` reports (the command line of
:mod:`unmask.measure.tables`).

Run: python scripts/results_table.py EVAL.json [EVAL2.json ...] > table.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from unmask.measure.tables import table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("evals", type=Path, nargs="+")
    args = ap.parse_args()
    print(table([json.loads(p.read_text()) for p in args.evals]))


if __name__ == "__main__":
    main()
