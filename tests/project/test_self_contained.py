"""The repository carries everything it needs: no file refers to a folder beside it.

CI's clone has the team's shared folder beside it; a user's clone has nothing there. Two checks:
no committed file (source, test, notebook, script, README) names that folder, and, at run time, the
audit hook in ``tests/conftest.py`` fails any test that opens or lists a path beside the
repository. The last tests show that hook catching a read, so it cannot silently stop working.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from twibox_nb import openapi

from .. import conftest
from ..conftest import REPO

# Written in two halves so that this file does not match itself.
FORBIDDEN = ("../" + "shared", "shared/" + "twilio-oai", "parents[2]" + ' / "shared"')
BINARY = {".xz", ".png", ".jpg", ".gif", ".ico", ".sqlite3", ".whl", ".gz"}


def committed_files() -> list[Path]:
    """The files git tracks (or, outside a git checkout, every file but .git's)."""
    if (REPO / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO, capture_output=True, check=True, timeout=60,
        ).stdout.decode()  # fmt: skip
        return [REPO / name for name in listed.split("\0") if name and (REPO / name).is_file()]
    return [p for p in REPO.rglob("*") if p.is_file() and ".git" not in p.parts]


def test_no_file_refers_to_a_folder_beside_the_repository():
    files = [p for p in committed_files() if p.suffix.lower() not in BINARY]
    assert len(files) > 100, "the file list looks wrong"
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path.relative_to(REPO)}: {word}" for word in FORBIDDEN if word in text]
    assert not found, "these files read a folder beside the repository, which a user's clone lacks:\n" + "\n".join(
        found
    )


def test_twilios_specs_are_vendored_with_their_licence_and_commit():
    folder = openapi.VENDORED
    assert folder.is_relative_to(REPO / "twibox_nb")
    assert len(openapi.names()) == 55 and "twilio_api_v2010.json" in openapi.names()
    assert "MIT License" in (folder / "LICENSE").read_text() and "Twilio" in (folder / "LICENSE").read_text()
    assert openapi.commit().startswith("d50069b")
    messages = openapi.load("twilio_api_v2010.json")["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]
    assert "DateSent<" in {p["name"] for p in messages["get"]["parameters"]}


def test_the_override_reads_a_checkout_and_says_clearly_when_it_is_wrong(tmp_path, monkeypatch):
    (tmp_path / "spec" / "json").mkdir(parents=True)
    (tmp_path / "spec" / "json" / "twilio_api_v2010.json").write_text('{"paths": {"/only": {}}}')
    monkeypatch.setenv(openapi.OVERRIDE_ENV, str(tmp_path))
    assert openapi.names() == ["twilio_api_v2010.json"]
    assert openapi.load("twilio_api_v2010.json") == {"paths": {"/only": {}}}
    monkeypatch.setenv(openapi.OVERRIDE_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(openapi.TwiboxError, match="does not hold spec/json/"):
        openapi.names()
    monkeypatch.delenv(openapi.OVERRIDE_ENV)
    assert len(openapi.load("twilio_api_v2010.json")["paths"]) > 100  # the vendored one again
    with pytest.raises(openapi.TwiboxError, match="No Twilio OpenAPI spec named"):
        openapi.load("../twilio_api_v2010.json")


def test_the_refresh_script_vendors_a_checkout(tmp_path):
    from twibox_nb.openapi.refresh import refresh

    checkout = tmp_path / "twilio-oai"
    (checkout / "spec" / "json").mkdir(parents=True)
    (checkout / "spec" / "json" / "twilio_demo_v1.json").write_text('{"openapi": "3.0.1", "paths": {}}')
    (checkout / "LICENSE").write_text("MIT License\nCopyright Twilio")
    (checkout / "COMMIT").write_text("0123456789abcdef0123456789abcdef01234567\n")
    target = tmp_path / "vendored"
    target.mkdir()
    (target / "twilio_gone_v1.json.xz").write_bytes(b"old")  # upstream no longer has it
    assert refresh(checkout, target) == ["twilio_demo_v1.json"]
    assert sorted(p.name for p in target.iterdir()) == ["LICENSE", "SOURCE.md", "twilio_demo_v1.json.xz"]
    assert "0123456789abcdef0123456789abcdef01234567" in (target / "SOURCE.md").read_text()
    import lzma

    assert lzma.decompress((target / "twilio_demo_v1.json.xz").read_bytes()) == b'{"openapi": "3.0.1", "paths": {}}'


def test_the_audit_hook_catches_a_read_beside_the_repository():
    beside = REPO.parent / "shared" / "twibox-nb-no-such-folder" / "file.json"
    before = len(conftest._OUTSIDE)
    with pytest.raises(OSError):
        beside.read_text()  # the hook sees the attempt even though the file does not exist
    with pytest.raises(OSError):
        os.listdir(beside.parent)
    caught = conftest._OUTSIDE[before:]
    del conftest._OUTSIDE[before:]  # handled here: the autouse check must not fail this test
    assert caught == [str(beside), str(beside.parent)]


def test_the_audit_hook_lets_the_repository_and_python_itself_through():
    assert not conftest.outside_repository(str(REPO / "README.md"))
    assert not conftest.outside_repository(str(REPO))
    assert not conftest.outside_repository(os.path.join(os.sep, "nowhere-near", "file"))
    assert conftest.outside_repository(str(REPO.parent / "shared" / "DESIGN.md"))
    assert not conftest.outside_repository(str(REPO.parent / ".cache" / "pip"))  # a hidden folder of $HOME
