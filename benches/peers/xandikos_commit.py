"""Commit the .ics / .vcf files written straight into a Xandikos collection (a git
working tree: a calendar or an address book).

Used by benches/caldav.rs and benches/carddav.rs to load what is not loaded by PUT:
Xandikos commits on every PUT, and each commit rewrites the collection's whole tree, so
loading 10,000 events or 20,000 cards by PUT alone takes hours. Run with the Python of
the Xandikos virtualenv (it brings dulwich):  python xandikos_commit.py COLLECTION_DIR
"""

import os
import sys

from dulwich import porcelain
from dulwich.repo import Repo


def main() -> None:
    path = sys.argv[1]
    repo = Repo(path)
    names = sorted(n for n in os.listdir(path) if n.endswith((".ics", ".vcf")))
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
