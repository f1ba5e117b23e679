"""Every case of docs/reliability.md's bad-input catalogue (tests/facebench/reliability_catalogue.py):
one line on stderr naming the file or option, a non-zero exit, no traceback and nothing written
or changed; legitimately fine inputs exit 0. Also checks the document lists exactly these cases."""

from __future__ import annotations

import pytest

from tests.facebench.reliability_catalogue import CASES, build_world, doc_rows, run_case


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("reliability") / "world")


pytestmark = pytest.mark.usefixtures("one_thread")


def test_case_ids_are_unique_and_there_are_at_least_250():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 250


def test_the_document_lists_exactly_these_cases():
    assert doc_rows() == [c.what.replace("|", "\\|") for c in CASES]


@pytest.mark.slow   # the whole catalogue: about a minute on 2 cores
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case, world, tmp_path):
    outcome = run_case(case, world, tmp_path)
    assert not isinstance(outcome.exception, (Exception,)) or isinstance(outcome.exception, SystemExit), \
        repr(outcome.exception)
    if case.ok:
        assert outcome.exit_code == 0, outcome.lines
        assert not [ln for ln in outcome.lines if ln.startswith("error")], outcome.lines
        if case.check is not None:
            case.check(world, tmp_path)
        return
    assert outcome.exit_code == 2, (outcome.exit_code, outcome.lines)
    assert len(outcome.lines) == 1, outcome.lines
    line = outcome.lines[0]
    assert line.startswith("error: ") and "Traceback" not in line and "internal error" not in line, line
    assert case.names is None or case.names in line, (case.names, line)
    assert not outcome.changed, outcome.changed[:6]
