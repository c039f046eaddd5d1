"""scripts/check_modules.py can fail: a cycle through a re-export, a `use` group with an
alias, `super::` and a child's relative path is found; names in strings and comments and
a folder's own `mod` lines are not dependencies.  Run by make test's lint, before the
check itself runs on src/."""
import subprocess
import sys
import tempfile
from pathlib import Path

CHECK = Path(__file__).resolve().parents[2] / "scripts" / "check_modules.py"


def check(files):
    with tempfile.TemporaryDirectory() as d:
        for name, text in files.items():
            path = Path(d) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        run = subprocess.run([sys.executable, str(CHECK), d], capture_output=True, text=True)
        return run.returncode, run.stdout


BASE = {
    "lib.rs": "mod a;\nmod b;\n",
    "a/mod.rs": "pub(crate) mod inner;\npub(crate) use inner::thing;\n",
    "a/inner.rs": "use crate::{b::{self as bee}};\nfn f() { bee::g(); }\npub fn thing() {}\n",
    "b.rs": '// crate::a::thing here is a comment\nfn g() { let s = "crate::a::thing"; }\n',
}
CASES = [
    ("acyclic", {}, 0),
    ("through a re-export", {"b.rs": BASE["b.rs"] + "fn h() { crate::a::thing(); }\n"}, 1),
    ("a use of the folder", {"b.rs": "use crate::a;\nfn h() { a::thing(); }\n"}, 1),
    ("super:: from a child", {"a/inner.rs": "fn f() { super::super::b::g(); }\n",
                              "b.rs": "use crate::a::inner as i;\n"}, 1),
]

failed = 0
for name, change, want in CASES:
    rc, out = check({**BASE, **change})
    ok = rc == want
    failed += not ok
    print(f"  {'ok  ' if ok else 'FAIL'}  {name}: exit {rc}, expected {want}" + ("" if ok else "\n" + out))
sys.exit(1 if failed else 0)
