"""The public SQL API is listed in one place: the table that opens docs/sql.md.  Every
function of a fresh install whose name does not start with `_` (trigger functions aside)
is in it, nothing else is, and its "who may call it" column says what the install grants:
PUBLIC where PUBLIC has EXECUTE, administrators where it does not."""
import re

from conftest import ROOT

SQL_MD = ROOT / "docs" / "sql.md"


def documented():
    """{function name: 'who may call it' text} from the opening table."""
    text = SQL_MD.read_text()
    section = text.split("## Public functions", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        for name in re.findall(r"`(?:CALL )?(\w+)\(", cells[0]):
            rows[name] = cells[2]
    return rows


def test_docs_list_every_public_function(db):
    with db.connect() as conn:
        installed = {r[0]: r[1] for r in conn.execute(
            """SELECT p.proname, bool_or(has_function_privilege('public', p.oid, 'EXECUTE'))
                 FROM pg_proc p
                WHERE p.pronamespace = 'stash'::regnamespace AND p.proname NOT LIKE '\\_%'
                  AND p.prorettype <> 'trigger'::regtype
                GROUP BY p.proname""")}
    listed = documented()
    assert len(listed) > 30
    assert set(installed) - set(listed) == set(), "public functions missing from docs/sql.md"
    assert set(listed) - set(installed) == set(), "docs/sql.md lists functions that do not exist"
    for name, public in installed.items():
        says_public = listed[name].startswith("PUBLIC")
        assert says_public == public, f"{name}: docs/sql.md says {listed[name]!r}, EXECUTE by PUBLIC is {public}"
