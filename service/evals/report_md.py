"""report.md: the eval report as readable Markdown (tables, per-phase breakdown, worst cases, charts)."""

from __future__ import annotations

from typing import Any

CHART_TITLES = {
    "retrieval.png": "Retrieval: hybrid vs baseline (test split)",
    "grading_phases.png": "Grading: macro-F1 per phase with 95% intervals (test split)",
    "personas.png": "Conversations: overall score per persona",
    "cost.png": "Cost: prompt tokens per turn, bounded summary vs full history",
}


def _ci(pair: list[float]) -> str:
    return f"{pair[0]}–{pair[1]}"


def _opt_ci(metrics: dict[str, Any], name: str) -> str:
    pair = metrics.get(f"{name}_ci95")
    return f" ({_ci(pair)})" if pair else ""


def header(report: dict[str, Any]) -> list[str]:
    llm = report.get("llm") or {"llm": "offline"}
    mode = "offline engine" if llm.get("llm") == "offline" else f"model `{llm.get('model')}`"
    if llm.get("cassettes") == "record":
        mode += f", recording cassettes into `{llm.get('cassette_dir')}`"
    elif llm.get("cassettes") == "replay":
        mode += f", replaying cassettes from `{llm.get('cassette_dir')}`"
    lines = ["# mockround eval report", "", f"Generated in {report['seconds']:.1f} s with the {mode}."]
    if report.get("limit") is not None:
        lines.append(f"Limited run: first {report['limit']} answers/cases per suite (see docs/evals.md).")
    timing = report.get("suite_seconds") or {}
    if timing:
        lines += ["", "| suite | seconds |", "| --- | --- |"] + [f"| {k} | {v:.1f} |" for k, v in timing.items()]
    if llm.get("server_usage"):
        u = llm["server_usage"]
        counts = ", ".join(f"{k} {llm[k]}" for k in ("recorded", "replayed", "misses") if k in llm)
        lines += ["", f"Model calls: {u['calls']} ({counts or 'live'}); the server reported usage on "
                  f"{u['calls_with_usage']}: {u['prompt_tokens']} prompt + {u['completion_tokens']} completion tokens."]
    return [*lines, ""]


def retrieval_lines(r: dict[str, Any]) -> list[str]:
    lines = ["## Retrieval", "", f"{r['queries']} labelled queries.", "",
             "| split | system | recall@3 | recall@5 (95% CI) | recall@10 | MRR (95% CI) | nDCG@10 (95% CI) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for split in ("dev", "test"):
        for system in ("hybrid", "baseline"):
            m = r[split][system]
            lines.append(f"| {split} | {system} | {m['recall@3']} | {m['recall@5']}{_opt_ci(m, 'recall@5')} | "
                         f"{m['recall@10']} | {m['mrr']}{_opt_ci(m, 'mrr')} | {m['ndcg@10']}{_opt_ci(m, 'ndcg@10')} |")
    return [*lines, ""]


def grading_lines(g: dict[str, Any]) -> list[str]:
    lines = ["## Grading", "", f"{g['answers']} labelled answers across {g['cases']} cases, graded by "
             f"`{g.get('grader_name', 'offline')}`.", "",
             "| split | grader | macro-F1 (95% CI) | P met | R met | bias | band QWK (95% CI) | Spearman | "
             "judge fallbacks |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for split in ("dev", "test"):
        for name in ("grader", "baseline"):
            m = g[name][split]
            lines.append(f"| {split} | {name} | {m['macro_f1']} ({_ci(m['macro_f1_ci95'])}) | "
                         f"{m['precision_met']} | {m['recall_met']} | {m['met_rate_bias']} | {m['band_qwk']} "
                         f"({_ci(m['band_qwk_ci95'])}) | {m['band_spearman']} | {m.get('judge_fallbacks', 0)} |")
    ours, base = g["grader"]["test"], g["baseline"]["test"]
    lines += ["", "Per phase (test split, item macro-F1 with bootstrap 95% CI):", "",
              "| phase | grader | baseline |", "| --- | --- | --- |"]
    for phase, value in ours["per_phase"].items():
        ci = ours.get("per_phase_ci95", {}).get(phase)
        bci = base.get("per_phase_ci95", {}).get(phase)
        lines.append(f"| {phase} | {value}{f' ({_ci(ci)})' if ci else ''} | "
                     f"{base['per_phase'].get(phase, '—')}{f' ({_ci(bci)})' if bci else ''} |")
    if g.get("human_agreement"):
        h = g["human_agreement"]
        lines += ["", f"Human–human agreement on {h['answers']} double-labelled answers: macro-F1 {h['macro_f1']}, "
                  f"band QWK {h['band_qwk']}."]
    lines += ["", "Worst 10 test answers:", "", "| answer | style | phase | errors | false met | missed | why |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {w['answer']} | {w['style']} | {w['phase']} | {w['errors']} | {', '.join(w['false_met'])} | "
              f"{', '.join(w['missed'])} | {'; '.join(w.get('reasons', []))} |" for w in g["grader"]["worst"]]
    return [*lines, ""]


def conversation_lines(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if "conversations" in report:
        c = report["conversations"]
        lines += ["## Conversations", "",
                  "| case | persona | overall | hire call | model turns | fallbacks | checks failed |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in c["runs"]:
            failed = ", ".join(k for k, ok in r["checks"].items() if not ok) or "—"
            fallbacks = r.get("phrasing_fallbacks", 0) + r.get("judge_fallbacks", 0)
            lines.append(f"| {r['case']} | {r['persona']} | {r['overall']} | {r['hire_call']} | "
                         f"{r.get('model_turns', 0)} | {fallbacks} | {failed} |")
        lines += ["", f"Hire ordering strong > average > weak: {c['hire_ordering']}",
                  f"Injection score delta (injected − honest): {c['injection_delta']}",
                  f"All checks passed: {c['passed']}" + ("" if c["passed"] else f" — {c['failed_checks']}"), ""]
    if "cost" in report:
        k = report["cost"]
        lines += ["## Cost", "",
                  f"{k['turns']} answers phrased by `{k.get('model', 'scripted')}`: prompt tokens per turn grew "
                  f"×{k['bounded_growth_5_to_last']} from turn 5 to the last (full-history baseline "
                  f"×{k['full_growth_5_to_last']}); session prompt tokens {k['session_prompt_tokens']} vs "
                  f"{k['session_full_history_tokens']} with full history.", ""]
    return lines


def chart_lines(report: dict[str, Any]) -> list[str]:
    charts = report.get("charts") or []
    if not charts:
        return []
    lines = ["## Charts", ""]
    for name in charts:
        lines += [f"![{CHART_TITLES.get(name, name)}]({name})", ""]
    return lines


def markdown(report: dict[str, Any]) -> str:
    lines = header(report)
    if "retrieval" in report:
        lines += retrieval_lines(report["retrieval"])
    if "grading" in report:
        lines += grading_lines(report["grading"])
    lines += conversation_lines(report)
    lines += chart_lines(report)
    return "\n".join(lines).rstrip() + "\n"
