"""docs/development.md's tree is the architecture map: every module of src/ is in it, under
its folder, and everything it names exists.  A module added, moved or removed without
the map following fails here (run by `make test`'s lint, as
`python3 tests/lint/test_layout_doc.py`).

The tree is the first ``` block under "## Layout".  A folder is written `src/NAME/`; the
files named after it (`x.rs`, several per line allowed) are that folder's until the next
folder; a path written in full (`src/lib.rs`) stands for itself.  A folder's mod.rs is
the folder itself (it is named by the folder line)."""
import os
import re
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def documented(markdown):
    """The set of src/ paths the Layout tree names (folders as DIR/mod.rs)."""
    section = markdown.split("## Layout", 1)
    if len(section) < 2:
        raise ValueError("docs/development.md has no '## Layout' section")
    block = re.search(r"```\n(.*?)```", section[1], re.S)
    if not block:
        raise ValueError("the Layout section has no ``` tree")
    paths, folder = set(), None
    for line in block.group(1).splitlines():
        for token in re.findall(r"src/[\w/]*\.rs|src/\w+/|\b\w+\.rs\b", line):
            if token.endswith("/"):
                folder = token
                paths.add(folder + "mod.rs")
            elif token.startswith("src/"):
                paths.add(token)
            elif folder is not None:
                paths.add(folder + token)
            else:
                raise ValueError(f"{token} is named before any src/FOLDER/ line: {line.strip()}")
    return paths


def present(src_dir):
    """Every .rs file under SRC_DIR, as src/... paths."""
    found = set()
    for dirpath, _, files in os.walk(src_dir):
        for f in files:
            if f.endswith(".rs"):
                rel = os.path.relpath(os.path.join(dirpath, f), os.path.dirname(src_dir))
                found.add(rel.replace(os.sep, "/"))
    return found


# test-only modules are documented in the table under the tree, not in it
NOT_IN_TREE = {"src/pg_tests.rs"}


def problems(markdown, src_dir):
    doc, real = documented(markdown), present(src_dir) - NOT_IN_TREE
    out = [f"{p} is in src/ but not in docs/development.md's Layout tree" for p in sorted(real - doc)]
    out += [f"{p} is in docs/development.md's Layout tree but not in src/" for p in sorted(doc - real)]
    return out


class LayoutDocTest(unittest.TestCase):
    def tree(self, files, markdown):
        d = tempfile.mkdtemp()
        src = os.path.join(d, "src")
        for f in files:
            os.makedirs(os.path.dirname(os.path.join(d, f)), exist_ok=True)
            open(os.path.join(d, f), "w").close()
        return problems(markdown, src)

    DOC = "# x\n## Layout\n```\nsrc/lib.rs  wiring\n├─ src/pg/  low\n│  guc.rs objects.rs   two\n```\n"

    def test_matching_tree_passes(self):
        self.assertEqual(self.tree(["src/lib.rs", "src/pg/mod.rs", "src/pg/guc.rs", "src/pg/objects.rs"],
                                   self.DOC), [])

    def test_undocumented_module_fails(self):
        found = self.tree(["src/lib.rs", "src/pg/mod.rs", "src/pg/guc.rs", "src/pg/objects.rs",
                           "src/pg/xact.rs"], self.DOC)
        self.assertEqual(found, ["src/pg/xact.rs is in src/ but not in docs/development.md's Layout tree"])

    def test_documented_but_missing_fails(self):
        found = self.tree(["src/lib.rs", "src/pg/mod.rs", "src/pg/guc.rs"], self.DOC)
        self.assertEqual(found, ["src/pg/objects.rs is in docs/development.md's Layout tree but not in src/"])

    def test_file_under_the_wrong_folder_fails(self):
        found = self.tree(["src/lib.rs", "src/pg/mod.rs", "src/guc.rs", "src/pg/objects.rs"], self.DOC)
        self.assertEqual(len(found), 2, found)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        sys.argv.pop(1)
        unittest.main()
    with open(os.path.join(ROOT, "docs", "development.md")) as f:
        found = problems(f.read(), os.path.join(ROOT, "src"))
    for p in found:
        print(p)
    if found:
        sys.exit(1)
    print("docs/development.md's Layout tree names every module of src/, and only those")
