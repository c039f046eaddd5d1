# Java (JDBC) and Go (pgx v4) for docs/recipes/java.md and go.md
# (tests/integration/test_recipe_jvm_go.py), from Debian's archive only: the JDBC driver is
# /usr/share/java/postgresql.jar, pgx v4 and its dependencies are GOPATH sources under
# /usr/share/gocode (Debian packages Go libraries for GOPATH mode, not as modules).
step "java (JDK 17, pgjdbc 42.5) and go (1.19, pgx 4.15)"
JVM_GO_PKGS=(openjdk-17-jdk-headless libpostgresql-jdbc-java golang-go golang-github-jackc-pgx-v4-dev)
# Compiling pgx's dependency tree takes about a minute on a small machine: done once here,
# into the build cache the test uses (GOCACHE keys on the sources, so the recipe, which
# imports the same packages, then builds in a second).
GO_CACHE="$PG_ROOT/go-cache"
if dpkg-query -W -f='${Status}\n' "${JVM_GO_PKGS[@]}" 2>/dev/null | grep -c 'install ok installed' \
     | grep -qx "${#JVM_GO_PKGS[@]}" && [ -f "$GO_CACHE/.stash-prewarmed" ]; then
  echo "already installed"
else
  apt_install "${JVM_GO_PKGS[@]}"
  warm=$(mktemp -d)
  mkdir -p "$warm/src/warm" "$GO_CACHE"
  cat >"$warm/src/warm/main.go" <<'GO'
package main

import (
	_ "github.com/jackc/pgconn"
	_ "github.com/jackc/pgx/v4"
	_ "github.com/jackc/pgx/v4/pgxpool"
)

func main() {}
GO
  (cd "$warm/src/warm" && GO111MODULE=off GOPATH="$warm:/usr/share/gocode" GOCACHE="$GO_CACHE" \
     GOFLAGS=-p=1 go build -o "$warm/warm" .)
  rm -rf "$warm"
  touch "$GO_CACHE/.stash-prewarmed"
fi
done_step
