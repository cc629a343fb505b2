"""Commit the .ics files written straight into a Xandikos calendar (a git working tree).

Used by benches/caldav.rs to load the part of the calendar that is not loaded by PUT:
Xandikos commits on every PUT, and each commit rewrites the calendar's whole tree, so
loading 10,000 events by PUT alone takes most of an hour. Run with the Python of the
Xandikos virtualenv (it brings dulwich):  python xandikos_commit.py CALENDAR_DIR
"""

import os
import sys

from dulwich import porcelain
from dulwich.repo import Repo


def main() -> None:
    path = sys.argv[1]
    repo = Repo(path)
    names = sorted(n for n in os.listdir(path) if n.endswith(".ics"))
    porcelain.add(repo, [os.path.join(path, n) for n in names])
    porcelain.commit(
        repo,
        message=b"bench: bulk load",
        author=b"bench <bench@bench.test>",
        committer=b"bench <bench@bench.test>",
    )
    print(len(names))


if __name__ == "__main__":
    main()
