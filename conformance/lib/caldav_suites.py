#!/usr/bin/env python3
"""Helpers for the CalDAV suites of conformance/run; run with the python of conformance/.venv.

    caldav_suites.py installed REQUIREMENTS
        Exit status 0 when every `name==version` line of REQUIREMENTS is installed in this
        python at exactly that version, 1 otherwise (naming the first that is not).

    caldav_suites.py tester LINES -- [caldav-server-tester options]
        Runs caldav-server-tester's command line in this process. Its stdout is the tool's
        own (the profile it prints); its log and tracebacks go to stderr. Writes LINES, one
        `feature: status` line per feature, sorted by name:
          - every feature the tool observed, uncompacted (what `--format hints` prints: the
            yaml/json profile leaves out features found at their default, mostly `full`, and
            folds sub-features into their parent, so it cannot tell "full" from "not
            checked"); status: the support level (`full`, `unsupported`, `broken`, `quirk`,
            `fragile`, `ungraceful`, `unknown`), or `value=...` for an observation;
          - every other feature that one of the tool's checks covers: `not-checked` (the
            tool stopped before it got there, e.g. when it could not create a calendar).
        Exit status 0 when LINES was written (also when the tool stopped on an error, which
        is reported on stderr as `caldav-server-tester: stopped early: ...`), 2 when the
        tool could not be started (bad options, import error).

    caldav_suites.py pytest ARGS...
        pytest.main(ARGS) with SIGINT turned back on (a background job of a script ignores
        it), so that a timeout sent as SIGINT stops the run and pytest still writes its
        junit XML for the tests that ran. Exit status: pytest's.

    caldav_suites.py junit JUNIT_XML
        Prints `module/Class/test: pass|fail|skip` lines in run order. A test with more than
        one <testcase> (a failure in the test and an error in its teardown) gets the worst
        status: fail (failure or error) over skip over pass.
"""

import inspect
import json
import signal
import sys
import traceback


def installed(path):
    import importlib.metadata

    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _, version = line.partition("==")
            try:
                have = importlib.metadata.version(name.strip())
            except importlib.metadata.PackageNotFoundError:
                have = None
            if have != version.strip():
                print(f"{name.strip()}: wanted {version.strip()}, installed {have}")
                return 1
    return 0


def _status(info):
    if not isinstance(info, dict):
        return "value=" + json.dumps(info)
    if "support" in info:
        return str(info["support"])
    if "value" in info:
        return "value=" + json.dumps(info["value"])
    if "enable" in info:
        return "enable=" + json.dumps(info["enable"])
    return json.dumps(info, sort_keys=True)


def tester(lines_path, args):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        import click
        from caldav_server_tester import caldav_server_tester as cli
        from caldav_server_tester import checks
        from caldav_server_tester.checker import ServerQuirkChecker
        from caldav_server_tester.checks_base import Check
    except Exception as e:  # the venv is broken: the runner's problem, not the server's
        print(f"caldav-server-tester: cannot import the tool: {e!r}", file=sys.stderr)
        return 2

    covered = set()
    for _, cls in inspect.getmembers(checks, inspect.isclass):
        if cls.__module__ == checks.__name__ and issubclass(cls, Check):
            covered.update(getattr(cls, "features_to_be_checked", ()) or ())

    checkers = []
    original_init = ServerQuirkChecker.__init__

    def init(self, *a, **kw):
        original_init(self, *a, **kw)  # finds the principal; raises when it cannot
        checkers.append(self)

    ServerQuirkChecker.__init__ = init

    stopped = None
    try:
        cli.check_server_compatibility.main(
            args=args, prog_name="caldav-server-tester", standalone_mode=False
        )
    except click.exceptions.ClickException as e:  # a usage error: the runner's options
        e.show()
        return 2
    except click.exceptions.Abort:
        stopped = "interrupted (timeout?)"
    except (Exception, KeyboardInterrupt) as e:
        traceback.print_exc()
        stopped = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    sys.stdout.flush()

    observed = {}
    for checker in checkers:
        features = getattr(checker, "_features_checked", None)
        if features is not None:
            observed.update(features.dotted_feature_set_list(compact=False))
    statuses = {name: _status(info) for name, info in observed.items()}
    for name in covered:
        statuses.setdefault(name, "not-checked")
    with open(lines_path, "w", encoding="utf-8") as out:
        for name in sorted(statuses):
            out.write(f"{name.replace(': ', ':_')}: {statuses[name]}\n")
    if not checkers:
        stopped = (stopped or "") + " (before any check: no profile printed)"
    if stopped:
        print(f"caldav-server-tester: stopped early: {stopped}", file=sys.stderr)
    print(
        f"caldav-server-tester: {len(observed)} feature(s) observed, "
        f"{len(statuses) - len(observed)} not checked",
        file=sys.stderr,
    )
    return 0


def run_pytest(args):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import pytest

    return int(pytest.main(args))


def junit(path):
    import xml.etree.ElementTree as ET

    rank = {"pass": 0, "skip": 1, "fail": 2}
    results = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        classname = case.get("classname") or ""
        if classname.startswith("tests."):
            classname = classname[len("tests.") :]
        name = "/".join(p for p in classname.split(".") + [case.get("name") or ""] if p)
        name = name.replace(": ", ":_")
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            status = "fail"
        elif "skipped" in tags:
            status = "skip"
        else:
            status = "pass"
        if name not in results or rank[status] > rank[results[name]]:
            results[name] = status  # dicts keep the first insertion's place: run order
    for name, status in results.items():
        print(f"{name}: {status}")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "tester":
        rest = argv[2:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        return tester(argv[1], rest)
    if len(argv) == 2 and argv[0] == "installed":
        return installed(argv[1])
    if len(argv) >= 1 and argv[0] == "pytest":
        return run_pytest(argv[1:])
    if len(argv) == 2 and argv[0] == "junit":
        return junit(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
