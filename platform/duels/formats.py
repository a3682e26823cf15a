"""Downloads of duel results: CSV (one long table, a `table` column saying which part a row
belongs to) and JSON (the results as the API gives them). Pure: no database."""

from __future__ import annotations

import csv
import io
import json

COLUMNS = [
    "table",
    "metric",
    "attacker",
    "defender",
    "method",
    "level",
    "trial",
    "pairs",
    "votes",
    "votes_for",
    "share",
    "ci_low",
    "ci_high",
    "winner",
]


def results_csv(results: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for d in results["duels"]:
        writer.writerow(
            {
                "table": "duel",
                "attacker": d["attacker"],
                "defender": d["defender"],
                "pairs": d["pairs"],
                "votes": d["votes"],
                "votes_for": d["with_attacker"],
                "share": d["share_with_attacker"],
                "ci_low": d["ci"][0],
                "ci_high": d["ci"][1],
                "winner": d["winner"] or "",
            }
        )
    for m in results["matchups"]:
        writer.writerow(
            {
                "table": "matchup",
                "metric": m["a"],
                "attacker": m["a"],
                "defender": m["b"],
                "votes": m["votes"],
                "votes_for": m["with_a"],
                "share": m["share_a"],
                "ci_low": m["ci"][0],
                "ci_high": m["ci"][1],
                "winner": m["winner"] or "",
            }
        )
    for g in results["gmad"]:
        for role in ("aggressiveness", "resistance"):
            score = g[role]
            if score is None:
                continue
            writer.writerow(
                {
                    "table": role,
                    "metric": g["metric"],
                    "votes": score["votes"],
                    "votes_for": score["votes_for"],
                    "share": score["share"],
                    "ci_low": score["ci"][0],
                    "ci_high": score["ci"][1],
                }
            )
    for r in results["ranking"]:
        writer.writerow(
            {
                "table": "bradley_terry",
                "metric": r["metric"],
                "level": r["rank"],
                "share": r["strength"],
                "ci_low": r["ci"][0],
                "ci_high": r["ci"][1],
            }
        )
    for e in results["examples"]:
        writer.writerow(
            {
                "table": "pair",
                "attacker": e["attacker"],
                "defender": e["defender"],
                "method": e["method"],
                "level": e["level"],
                "trial": e["trial"],
                "votes": e["total"],
                "votes_for": e["with_attacker"],
                "share": round(e["with_attacker"] / e["total"], 6) if e["total"] else "",
            }
        )
    return out.getvalue()


def results_json(results: dict) -> str:
    return json.dumps(results, indent=2, sort_keys=True)
