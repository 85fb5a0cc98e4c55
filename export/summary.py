"""The summary ``edge-export`` prints when it is done."""

from __future__ import annotations

import argparse

from export.feedback import closing_count
from export.pipeline import ExportResult, expected_false_alarms


def format_summary(result: ExportResult, args: argparse.Namespace, seconds: float) -> str:
    """A few aligned lines: training, calibration, parity, sizes, output."""
    meta, cal, training = result.model.metadata, result.calibration, result.training
    target, observed = expected_false_alarms(result)
    lines = [
        f"trained {len(training.val_losses)} epochs in {training.seconds:.1f} s; best epoch {training.best_epoch}, "
        f"validation MSE {training.best_val_loss:.5f} (normalised units)",
        f"calibrated on {cal.samples} validation samples: threshold {cal.threshold:.3f} for "
        f"{target:g} false alarm(s)/day; validation alerting samples/day: {observed:.2f}",
        "parity on validation rows (reference: torch fp32):",
        f"  {'path':<18} {'max |forecast diff|':>20} {'alert agreement':>16} {'alert samples':>14}",
    ]
    for row in result.parity:
        lines.append(f"  {row.path:<18} {row.max_abs_diff:>20.6g} {row.agreement:>16.4%} {row.alerts:>14}")
    sizes = result.sizes
    lines += [
        f"model sizes: fp32 {sizes['fp32'] / 1024:.1f} KiB, int8 {sizes['int8'] / 1024:.1f} KiB "
        f"({sizes['fp32'] / sizes['int8']:.1f}x smaller)",
        f"wrote {result.model.path} ({meta.precision}, {sizes['shipped'] / 1024:.1f} KiB, weights "
        f"{result.model.weights_sha256[:12]}) in {seconds:.1f} s",
    ]
    if result.decisions:
        config = f"[detector] of {args.agent_config}" if args.agent_config else "default [detector] settings"
        lines.append(
            f"labelled alerts, as the new model would decide (replayed through the runtime over every row of the "
            f"folder, {config}):"
        )
        lines += [f"  {d.line()}" for d in result.decisions]
        lines.append(f"  {closing_count(result.decisions)}")
    if args.report:
        lines.append(f"wrote report {args.report}")
    return "\n".join(lines)
