"""``python -m transitopt.batch FILE -o DIR [--workers N] [--scheduler ADDRESS] [--force]``."""

from __future__ import annotations

import argparse
import sys

from .._errors import TransitoptError
from .run import run_batch


def _print(event: dict) -> None:
    eta = f", ETA {event['eta_s']:.0f} s" if event["cities_remaining"] else ""
    print(
        f"{event['city']}: {'FAILED' if event['city_failed'] else 'done'} — cities done {event['cities_done']}, "
        f"failed {event['cities_failed']}, remaining {event['cities_remaining']}{eta}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transitopt.batch", description=__doc__)
    parser.add_argument("file")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--scheduler", default=None)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    try:
        summary = run_batch(
            args.file,
            args.output,
            workers=args.workers,
            scheduler=args.scheduler,
            overwrite=args.force,
            progress=_print,
        )
    except TransitoptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{summary.computed} computed, {summary.reused} reused, {summary.failed} failed, "
        f"{summary.not_applicable} not applicable in {summary.elapsed_s:.1f} s → {summary.files['summary_csv']}"
    )
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
