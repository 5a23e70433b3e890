"""
SQL checks for the TypeScript tests, with sqlglot: reads a JSON list of requests on stdin and
prints a JSON list of results, one per request, in order.

  {"op": "parse", "sql": "...", "read": "trino"}                      -> {"ok": true, "statements": 1}
  {"op": "transpile", "sql": "...", "read": "trino", "write": "duckdb"} -> {"ok": true, "sql": "..."}

A request that fails gives {"ok": false, "error": "..."}; sqlglot's parse errors name the line and
column. Parsing is strict (unsupported syntax is an error, not a warning).
"""

import json
import sys

import sqlglot
from sqlglot.errors import ErrorLevel


def handle(req):
    try:
        if req["op"] == "parse":
            trees = sqlglot.parse(req["sql"], read=req["read"], error_level=ErrorLevel.RAISE)
            return {"ok": True, "statements": len([t for t in trees if t is not None])}
        if req["op"] == "transpile":
            out = sqlglot.transpile(req["sql"], read=req["read"], write=req["write"], unsupported_level=ErrorLevel.RAISE, error_level=ErrorLevel.RAISE)
            return {"ok": True, "sql": ";\n".join(out)}
        return {"ok": False, "error": f"unknown op {req['op']}"}
    except Exception as e:  # noqa: BLE001 (every failure is reported to the caller)
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


if __name__ == "__main__":
    print(json.dumps([handle(r) for r in json.load(sys.stdin)]))
