# Sourced by scripts/test-sanitize.sh and scripts/test-tsan-addon.sh: what both need to build
# the addon with a sanitizer beside the normal build, never over build/.

# npm puts its node-gyp on PATH for `npm run`; run directly, use the copy npm ships with.
# Outside `npm run`, npm's nodedir setting (where the Node headers are) is passed on by hand.
node_gyp() {
  if command -v node-gyp >/dev/null 2>&1; then node-gyp "$@"; else
    nodedir=$(npm config get nodedir 2>/dev/null || true)
    [ -n "$nodedir" ] && [ "$nodedir" != undefined ] && export npm_config_nodedir="$nodedir"
    node "$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js" "$@"
  fi
}

# make_stage DIR: a staging folder whose sources are symlinks to the checkout ($root), so that
# node-gyp builds into DIR/build.
make_stage() {
  mkdir -p "$1"
  for entry in binding.gyp package.json native scripts node_modules; do
    ln -sfn "$root/$entry" "$1/$entry"
  done
}
