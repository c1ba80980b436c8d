"""Prompt tokens per interviewer turn over a long interview: bounded running summary vs full history.

Runs the cost suite (``service/evals/conversations.cost_suite``): a 180-minute interview on
clickstream-analytics with a scripted model that records every prompt, one answer a minute.
The baseline is the prompt the same turn would need if it carried the whole transcript
(system prompt + every turn), counted with the same tokenizer in the same run.
"""

from __future__ import annotations

from benchmarks.report import Result, at_most
from benchmarks.servers import bench_settings, ensure_index
from service.evals.conversations import cost_suite
from service.interview.knowledge import build_knowledge

MAX_GROWTH = 1.2
SHOWN_TURNS = (1, 5, 10, 20, 30, 40)


def run(quick: bool = False, res: Result | None = None) -> Result:
    """Fill ``res`` (figures added so far survive a failure later in the run)."""
    res = res if res is not None else Result("prompt_growth")
    answers = 12 if quick else 40
    settings = bench_settings()
    ensure_index(settings)
    cost = cost_suite(build_knowledge(settings), answers=answers)
    bounded, full = cost["prompt_tokens_per_turn"], cost["full_history_per_turn"]
    turns = len(bounded)
    res.add("answers driven", turns, "", f"{answers}", turns == answers,
            "the interview ended early" if turns < answers else "")
    res.add(f"prompt growth turn 5 → {turns}", cost["bounded_growth_5_to_last"], "×", f"≤ {MAX_GROWTH}×",
            at_most(cost["bounded_growth_5_to_last"], MAX_GROWTH),
            f"full history: {cost['full_growth_5_to_last']}×")
    for n in SHOWN_TURNS:
        if n <= turns:
            res.add(f"  prompt tokens at turn {n}", bounded[n - 1], "tokens", "", None,
                    f"full history: {full[n - 1]:,} tokens")
    res.add("session prompt tokens", cost["session_prompt_tokens"], "tokens", "", None,
            f"full history: {cost['session_full_history_tokens']:,} tokens")
    res.notes += [
        f"{answers} answers of ~45 words, one a minute, in a 180-minute interview; prompts from prompts/llm with the "
        "running summary bounded by MOCKROUND_SUMMARY_BUDGET_TOKENS (default 600); tiktoken counts.",
        "Growth = prompt tokens of the last turn / prompt tokens of turn 5.",
    ]
    res.details = {"bounded": bounded, "full_history": full}
    return res
