"""The role matrix: docs/roles.md shows exactly roles.MATRIX; per-role connections; generated passwords."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from konvergensi import roles, settings

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "roles.md"


def test_docs_show_the_matrix_the_code_grants() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = re.search(r"<!-- matrix:start -->\n(.*?)\n<!-- matrix:end -->", text, re.DOTALL)
    assert documented, "docs/roles.md lost its matrix markers"
    assert documented.group(1) == roles.render_matrix(), (
        "docs/roles.md differs from roles.MATRIX: paste the output of `python -m konvergensi.roles matrix`")


def test_bi_reads_bi_only_and_nobody_but_the_admins_reads_restricted_in_full() -> None:
    assert {schema for schema, cell in roles.MATRIX[roles.BI].items() if cell} == {"bi"}
    assert {schema for schema, cell in roles.MATRIX[roles.ANALYST].items() if cell} == {"analyst", "bi", "reference"}
    for reader in (roles.ANALYST, roles.BI):  # the internal star schema and everything personal stay out of reach
        assert not {"marts", "restricted", "identity", "raw", "staging", "intermediate"} & set(roles.MATRIX[reader])
    readers = {role for role, cells in roles.MATRIX.items() if "SELECT" in cells.get("restricted", ())}
    assert readers == {roles.TRANSFORMER, roles.CASEWORKER, roles.ADMIN}
    assert (roles.CASEWORKER, "restricted") in roles.ROW_LEVEL_SECURITY
    assert all(not cells.get("public") for cells in roles.MATRIX.values())


def test_table_exceptions_override_their_schema_cell() -> None:
    assert roles.expected_privileges(roles.LOADER, "ops", "file_loads") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert roles.expected_privileges(roles.LOADER, "ops", "gate_runs") == {"SELECT"}
    assert roles.expected_privileges(roles.TRANSFORMER, "ops", "gate_runs") == {"SELECT", "INSERT"}
    assert "CREATE" not in roles.expected_privileges(roles.TRANSFORMER, "marts", "dim_child")
    assert "CREATE" in roles.expected_privileges(roles.TRANSFORMER, "marts")


def test_role_url_swaps_the_user_and_keeps_server_and_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONVERGENSI_LOADER_PASSWORD", "p@ss/word")
    socket = roles.role_url(roles.LOADER, "postgresql://postgres:@/konvergensi?host=/tmp/x/pg")
    assert socket == "postgresql://konvergensi_loader:p%40ss%2Fword@/konvergensi?host=/tmp/x/pg"
    tcp = roles.role_url(roles.LOADER, "postgresql://owner:secret@db.example:5433/warehouse?sslmode=require")
    assert tcp == "postgresql://konvergensi_loader:p%40ss%2Fword@db.example:5433/warehouse?sslmode=require"
    assert settings.connection_parts(tcp)["password"] == "p@ss/word"


def test_passwords_are_generated_once_into_the_data_dir_readable_by_the_owner_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONVERGENSI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KONVERGENSI_TRANSFORMER_PASSWORD", raising=False)
    first = roles.role_password(roles.TRANSFORMER)
    assert len(first) >= 24 and roles.role_password(roles.TRANSFORMER) == first
    path = tmp_path / "role-passwords.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.setenv("KONVERGENSI_TRANSFORMER_PASSWORD", "from-env")
    assert roles.role_password(roles.TRANSFORMER) == "from-env"


@pytest.mark.parametrize("login", ["Bad-Name", "konvergensi_loader", "pg_monitor", "x" * 64])
def test_person_logins_with_a_bad_or_reserved_name_are_refused(login: str) -> None:
    with pytest.raises(roles.RoleError):
        roles.add_caseworker(login, kelurahan=["33.75.01.1002"], url="postgresql://unused@/nowhere")


def test_a_caseworker_without_an_area_is_refused() -> None:
    with pytest.raises(roles.RoleError, match="at least one"):
        roles.add_caseworker("budi", url="postgresql://unused@/nowhere")


def test_the_analyst_key_pads_are_those_of_an_hmac_with_a_key_derived_from_the_pseudonym_key() -> None:
    import hashlib
    import hmac

    from konvergensi.pseudonyms import ANALYST_KEY_CONTEXT, analyst_hmac_pads

    key = bytes(range(32))
    inner, outer = analyst_hmac_pads(key)
    message = b"child:abc"
    by_pads = hashlib.sha256(bytes.fromhex(outer) + hashlib.sha256(bytes.fromhex(inner) + message).digest()).hexdigest()
    derived = hmac.new(key, ANALYST_KEY_CONTEXT, hashlib.sha256).digest()
    assert by_pads == hmac.new(derived, message, hashlib.sha256).hexdigest()
    assert analyst_hmac_pads(b"another key of 32 bytes........!") != (inner, outer)
