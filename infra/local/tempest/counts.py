"""One line of counts for a Tempest run, and the tests that failed, from its subunit stream.

    stestr last --subunit | python counts.py LAYOUT EXCLUDED

Run with Tempest's interpreter (python-subunit and testtools come with Tempest). A class whose
set-up failed is reported by Tempest as one failed test named after the class, and counted so.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from subunit import ByteStreamToStreamResult
from testtools import StreamToDict

OUTCOMES = {"success": "passed", "fail": "failed", "skip": "skipped", "uxsuccess": "failed"}


def outcomes(stream: Any) -> dict[str, str]:
    """Each test's outcome (passed, failed, skipped, other), by test id."""
    found: dict[str, str] = {}

    def on_test(test: dict[str, Any]) -> None:
        found[test["id"]] = OUTCOMES.get(test["status"], "other")

    result = StreamToDict(on_test)
    result.startTestRun()
    ByteStreamToStreamResult(stream, non_subunit_name="stdout").run(result)
    result.stopTestRun()
    return found


def main() -> None:
    layout, excluded = sys.argv[1], int(sys.argv[2])
    found = outcomes(sys.stdin.buffer)
    counts = Counter(found.values())
    print(
        f"tempest ({layout} store layout): {len(found)} run, {counts['passed']} passed, "
        f"{counts['failed']} failed, {counts['skipped']} skipped, {excluded} excluded"
    )
    for test_id in sorted(t for t, outcome in found.items() if outcome == "failed"):
        print(f"  failed: {test_id}")


if __name__ == "__main__":
    main()
