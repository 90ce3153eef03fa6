"""Every Python example in the docs runs: docs/PYTHON.md, the README and the
package's README. A block defining ``test_*`` functions runs as a pytest file (the
plugin's fixtures); any other runs as a script, with ``kevy`` and ``redis`` imported
and a running ``server`` (when the block does not start its own)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Tuple

import pytest

import kevy

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "docs" / "PYTHON.md", ROOT / "README.md", ROOT / "bindings" / "python" / "README.md"]


def examples() -> List[Tuple[str, str]]:
    found = []
    for doc in DOCS:
        if not doc.exists():
            continue
        text = doc.read_text()
        for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            line = text[: m.start()].count("\n") + 1
            found.append((f"{doc.relative_to(ROOT)}:{line}", m.group(1)))
    return found


EXAMPLES = examples()


def test_the_docs_have_examples():
    if not DOCS[0].exists():
        pytest.skip("not run from a kevy checkout")
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("where, code", EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_runs(where, code, pytester, monkeypatch, tmp_path):
    redis = pytest.importorskip("redis")
    if re.search(r"^def test_", code, re.M):
        pytester.makepyfile(test_example=code)
        result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=len(re.findall(r"^def test_", code, re.M)))
        return
    monkeypatch.chdir(tmp_path)
    with kevy.Server() as server:
        namespace = {"kevy": kevy, "redis": redis, "server": server, "__name__": "__example__"}
        exec(compile(code, where, "exec"), namespace)
        started = namespace.get("server")
        if isinstance(started, kevy.Server) and started is not server:
            started.stop()
