# The Rust recipe (docs/recipes/rust.md: sqlx 0.8, tokio-postgres 0.7).  Building sqlx's
# dependency tree takes minutes, too long for a test: prebuild the page's Cargo project
# once into $PG_ROOT/rust-recipe/target, with the Cargo.lock generated here, so that
# tests/integration/test_recipe_rust.py compiles only the recipe's own crate.
# Redone when the page's Cargo.toml changes (the stamp is its sha256).
step "rust recipe: prebuilt dependencies (sqlx 0.8, tokio-postgres 0.7)"
rust_recipe_dir="$PG_ROOT/rust-recipe"
rust_recipe_page="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/docs/recipes/rust.md"
rust_recipe_project="$rust_recipe_dir/project"
rm -rf "$rust_recipe_project.new"
# The same marker regex as tests/integration/conftest.py's extract_recipe.
python3 - "$rust_recipe_page" "$rust_recipe_project.new" <<'PY'
import pathlib, re, sys
page, into = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
blocks = re.findall(r"<!-- recipe-file: (\S+) -->\s*```[\w-]*\n(.*?)```", page.read_text(), re.S)
assert any(name == "Cargo.toml" for name, _ in blocks), f"{page}: no Cargo.toml block"
for name, code in blocks:
    path = into / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code)
PY
rust_recipe_sum=$(sha256sum <"$rust_recipe_project.new/Cargo.toml" | cut -d' ' -f1)
if [ "$(cat "$rust_recipe_dir/stamp" 2>/dev/null)" = "$rust_recipe_sum" ] \
   && [ -f "$rust_recipe_dir/Cargo.lock" ] && [ -d "$rust_recipe_dir/target/debug" ]; then
  echo "already installed ($rust_recipe_dir, Cargo.toml sha256 ${rust_recipe_sum:0:12})"
  rm -rf "$rust_recipe_project.new"
else
  rm -rf "$rust_recipe_project" "$rust_recipe_dir/stamp"
  mv "$rust_recipe_project.new" "$rust_recipe_project"
  # No debug info: a fraction of the build time and disk; the test passes the same
  # setting, or cargo would rebuild every dependency.
  (cd "$rust_recipe_project" \
    && cargo generate-lockfile --quiet \
    && CARGO_PROFILE_DEV_DEBUG=0 CARGO_BUILD_JOBS="$JOBS" \
       cargo build --quiet --locked --target-dir "$rust_recipe_dir/target")
  cp "$rust_recipe_project/Cargo.lock" "$rust_recipe_dir/Cargo.lock"
  awk '/^name = "(sqlx|tokio|tokio-postgres)"$/ { n = $3; getline; printf "%s %s  ", n, $3 } END { print "" }' \
    "$rust_recipe_dir/Cargo.lock"
  echo "$rust_recipe_sum" >"$rust_recipe_dir/stamp"
fi
done_step
