"""Where the pseudonym key comes from, when a night refuses to start, and the key's id."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from konvergensi import settings
from konvergensi.pseudonyms import Pseudonymiser, key_id

pytestmark = pytest.mark.unit


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("KONVERGENSI_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv(settings.DEVELOPMENT_KEY_SETTING, raising=False)
    monkeypatch.setenv("KONVERGENSI_DATA_DIR", str(tmp_path))
    return tmp_path


def test_a_night_with_real_exports_refuses_without_a_key(no_key: Path) -> None:
    with pytest.raises(settings.ConfigurationError, match="KONVERGENSI_PSEUDONYM_KEY is not set: a night with real exports"):
        settings.pseudonym_key()
    assert not (no_key / "pseudonym.key").exists()


def test_the_simulated_night_generates_a_key_once_readable_by_its_owner_only(no_key: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.DEVELOPMENT_KEY_SETTING, "1")
    previous = os.umask(0)  # the mode must come from the creation itself, not from a permissive umask
    try:
        first = settings.pseudonym_key()
    finally:
        os.umask(previous)
    key_file = no_key / "pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) == 32 and settings.pseudonym_key() == first


def test_a_configured_key_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONVERGENSI_PSEUDONYM_KEY", "zz" * 32)
    with pytest.raises(settings.ConfigurationError, match="not hexadecimal"):
        settings.pseudonym_key()
    monkeypatch.setenv("KONVERGENSI_PSEUDONYM_KEY", "ab" * 8)
    with pytest.raises(settings.ConfigurationError, match="8 bytes; a pseudonym key needs at least 16"):
        settings.pseudonym_key()
    monkeypatch.setenv("KONVERGENSI_PSEUDONYM_KEY", "ab" * 32)
    assert settings.pseudonym_key() == bytes.fromhex("ab" * 32)


def test_the_key_id_names_a_key_without_revealing_its_pseudonyms() -> None:
    one, other = bytes.fromhex("00" * 32), bytes.fromhex("01" * 32)
    assert key_id(one) == key_id(one) == Pseudonymiser(one).key_id
    assert key_id(one) != key_id(other) and len(key_id(one)) == 16
    assert key_id(one) not in Pseudonymiser(one).one("nik:3375014507950001")


def test_retention_months_unset_means_nothing_is_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KONVERGENSI_RETENTION_MONTHS", raising=False)
    assert settings.retention_months() is None
    monkeypatch.setenv("KONVERGENSI_RETENTION_MONTHS", "60")
    assert settings.retention_months() == 60
    monkeypatch.setenv("KONVERGENSI_RETENTION_MONTHS", "lima tahun")
    with pytest.raises(settings.ConfigurationError, match="not a whole number of months"):
        settings.retention_months()
