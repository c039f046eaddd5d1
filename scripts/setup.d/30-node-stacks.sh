# The Node/TypeScript recipes (docs/recipes/typescript.md, prisma.md, express.md) run with
# these packages, installed next to `pg` in $NODE_DIR.  Exact versions: the recipes are
# compiled by tsc against their types, so a new minor release could break `make test`.
#
# --ignore-scripts: prisma's and @prisma/engines' install scripts download engine binaries
# from Prisma's own site, which is unreachable here (npm is the only JS registry we reach);
# the recipe uses engineType = "client" (the query compiler is WebAssembly shipped inside
# @prisma/client), so no engine binary is needed at run time.
NODE_STACK_PACKAGES=(
  postgres@3.4.9 typescript@5.9.3 @types/node@20.19.43 @types/pg@8.23.1
  prisma@6.19.3 @prisma/client@6.19.3 @prisma/adapter-pg@6.19.3
  express@4.22.3 @types/express@4.17.25 typeorm@0.3.31 reflect-metadata@0.2.2
  jsonwebtoken@9.0.3 @types/jsonwebtoken@9.0.10
)

node_stacks_missing() {  # prints the packages not installed at their pinned version
  local p name version have
  for p in "${NODE_STACK_PACKAGES[@]}"; do
    name=${p%@*} version=${p##*@}
    have=$(node -p "require('$NODE_DIR/node_modules/$name/package.json').version" 2>/dev/null || true)
    [ "$have" = "$version" ] || echo "$p"
  done
}

step "node stacks (postgres, typescript, prisma, express, typeorm, jsonwebtoken)"
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
missing=$(node_stacks_missing)
if [ -z "$missing" ]; then
  echo "already installed"
else
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || (cd "$NODE_DIR" && npm init -y >/dev/null)
  (cd "$NODE_DIR" && npm install --silent --no-audit --no-fund --ignore-scripts --save-exact \
     "${NODE_STACK_PACKAGES[@]}")
  missing=$(node_stacks_missing)
  [ -z "$missing" ] || { echo "node stacks: still missing after npm install: $missing" >&2; return 1; }
fi
unset missing
done_step
