"""RealPaths.file (runner/plugins/real_paths.py): what os.path.isfile and then RealPaths.of answer,
from one lstat where the file is no link."""

from __future__ import annotations

import os
from pathlib import Path

from runner.plugins.real_paths import RealPaths


def _layout(root: Path) -> None:
    (root / "real" / "sub").mkdir(parents=True)
    (root / "real" / "a.js").write_text("")
    (root / "real" / "sub" / "b.js").write_text("")
    (root / "linked").symlink_to(root / "real", target_is_directory=True)  # a linked directory
    (root / "real" / "to-a.js").symlink_to(root / "real" / "a.js")  # a linked file
    (root / "real" / "to-sub").symlink_to(root / "real" / "sub")  # a link to a directory
    (root / "real" / "dangling.js").symlink_to(root / "real" / "missing.js")


def test_file_answers_as_isfile_then_of(tmp_path):
    _layout(tmp_path)
    paths = [tmp_path / "real" / name for name in ("a.js", "sub/b.js", "to-a.js", "to-sub", "dangling.js",
                                                   "missing.js", "sub", "a.js/x")]
    paths += [tmp_path / "linked" / name for name in ("a.js", "sub/b.js", "to-a.js", "sub")]
    for path in map(str, paths):
        expected = RealPaths().of(path) if os.path.isfile(path) else None
        assert RealPaths().file(path) == expected, path
    assert RealPaths().file(str(tmp_path / "linked" / "to-a.js")) == str(tmp_path.resolve() / "real" / "a.js")
    assert RealPaths().file("/no\0such") is None


def test_file_sees_a_file_go_that_of_remembers(tmp_path):
    _layout(tmp_path)
    paths = RealPaths()
    path = str(tmp_path / "real" / "a.js")
    assert paths.file(path) == paths.of(path) == path
    os.unlink(path)
    assert paths.file(path) is None  # as isfile: each probe looks again
