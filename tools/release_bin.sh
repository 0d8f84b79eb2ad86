# Sourced by the results scripts: sets $bin to a folder of release binaries, $RELIEF_BIN when set
# (already built, so several runs can share one build beside other work), else this package's after
# the set-up and a release build.
if [ -n "${RELIEF_BIN:-}" ]; then
  bin=$RELIEF_BIN
else
  bash tools/setup.sh
  swift build -c release
  bin=$(swift build -c release --show-bin-path)
fi
