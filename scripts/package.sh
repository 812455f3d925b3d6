#!/usr/bin/env bash
# The release tarball: what brain needs at run time (package.json's "files": the build, schema,
# blueprints, deployment files, operator scripts, README, LICENSE) plus package-lock.json, so that
# `npm ci --omit=dev` in the unpacked folder installs exactly the locked production dependencies
# and nothing else. One top folder, brain-mcp-<version>/. Needs a build (npm run package builds).
# Usage: npm run package                  writes release/brain-mcp-<version>.tar.gz, prints its path
#        scripts/package.sh --out DIR     writes the tarball into DIR instead
#        scripts/package.sh --stage DIR   puts the files in DIR, no tarball (install-service.sh)
set -euo pipefail
usage() { echo "usage: $0 [--out DIR | --stage DIR]" >&2; exit 2; }
out_dir=
stage_to=
case "${1:-}" in
  '') ;;
  --out) [ -n "${2:-}" ] || usage; out_dir=$(realpath -m "$2") ;;
  --stage) [ -n "${2:-}" ] || usage; stage_to=$(realpath -m "$2") ;;
  *) usage ;;
esac
cd "$(dirname "$0")/.."
out_dir=${out_dir:-$PWD/release}
[ -f dist/src/cli.js ] || { echo "package: build first (npm run build)" >&2; exit 1; }

name=$(node -p 'require("./package.json").name')
version=$(node -p 'require("./package.json").version')
top="$name-$version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# npm pack applies "files" the way the npm package gets them; the build is already there.
packed=$(npm pack --ignore-scripts --json --pack-destination "$work" | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].filename))')
mkdir "$work/$top"
tar -xzf "$work/$packed" -C "$work/$top" --strip-components=1
cp package-lock.json "$work/$top/"

if [ -n "$stage_to" ]; then
  rm -rf "$stage_to"
  mkdir -p "$(dirname "$stage_to")"
  cp -a "$work/$top" "$stage_to"
  exit 0
fi

mkdir -p "$out_dir"
out="$out_dir/$top.tar.gz"
tar -czf "$out.partial" --owner=0 --group=0 --numeric-owner -C "$work" "$top"
mv "$out.partial" "$out"
echo "$out"
