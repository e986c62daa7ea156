"""`make report [RUN_DATE=yyyy-mm-dd]`: the monthly report of the last published night (konvergensi.report)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys

from konvergensi import browser
from konvergensi.report import ReportError, generate, nights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-date", type=dt.date.fromisoformat, default=None,
                        help="the night asked for (default: the last published night)")
    parser.add_argument("--no-pdf", action="store_true", help="HTML only (no Chromium needed)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        result = generate(args.run_date, pdf=not args.no_pdf)
    except (nights.NoPublishedNight, ReportError, browser.BrowserMissing, browser.BrowserFailed) as error:
        print(error, file=sys.stderr)
        return 1
    if result.choice.banner:
        print(result.choice.banner)
    print("\n".join(result.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
