# tcfs as one `deno compile`d executable, built offline in the Nix sandbox.
#
# Inputs: the pinned Deno and its denort (./deno.nix, denort hashes to fill
# in there), the production node_modules (./node-modules.nix, hashes come
# from package-lock.json), and the project's own sources.
{
  lib,
  stdenv,
  callPackage,
  tcfsDeno ? callPackage ./deno.nix { lockFile = ../package-lock.json; },
  nodeModules ? callPackage ./node-modules.nix { lockFile = ../package-lock.json; },
}:
let
  root = ../.;
  fs = lib.fileset;
  # The one place the release version is written is lib/version.ts.
  versionMatch = builtins.match ''.*export const VERSION = "([^"]+)".*'' (builtins.readFile ../lib/version.ts);
in
stdenv.mkDerivation (finalAttrs: {
  pname = "tcfs";
  version =
    if versionMatch == null then throw "tcfs: no VERSION in lib/version.ts" else builtins.head versionMatch;

  # Only what the executable is built from, so that docs or tests changes do not rebuild it.
  src = fs.toSource {
    inherit root;
    fileset = fs.unions (
      map fs.maybeMissing [
        ../deno.json
        ../deno.lock
        ../package.json
        ../package-lock.json
        ../main.ts
        ../cmd
        ../lib
        ../proto
      ]
    );
  };

  nativeBuildInputs = [ tcfsDeno ];

  env = {
    # The runtime `deno compile` wraps the program in; with it set, nothing is downloaded.
    DENORT_BIN = "${tcfsDeno}/bin/denort";
    DENO_NO_UPDATE_CHECK = "1";
    DENO_NO_PROMPT = "1";
  };

  buildPhase = ''
    runHook preBuild
    export HOME="$TMPDIR" DENO_DIR="$TMPDIR/deno-dir"
    # A copy, not a symlink: deno compile embeds node_modules and records a
    # symlink's target, which would name a store path inside the executable.
    cp -r ${nodeModules}/node_modules node_modules
    chmod -R u+w node_modules
    # The same command as the `compile` task in deno.json, spelled out because
    # deno.json's tasks run ./tools/deno, i.e. the npm `deno` dev dependency,
    # which this production node_modules leaves out. Keep the two in step.
    deno compile --unstable-kv -A --include proto/ --output dist/tcfs main.ts
    runHook postBuild
  '';

  installPhase = ''
    runHook preInstall
    install -Dm755 dist/tcfs $out/bin/tcfs
    runHook postInstall
  '';

  # The program rides inside the executable after denort's code: stripping
  # or patchelf would cut it off or move it. denort was already patched for
  # Nix's loader in ./deno.nix, so the copy here runs as is.
  dontFixup = true;

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    $out/bin/tcfs version | grep -F "tcfs ${finalAttrs.version} "
    runHook postInstallCheck
  '';

  passthru = {
    inherit tcfsDeno nodeModules;
  };

  meta = {
    description = "Self-hosted, S3-first file sync with on-demand hydration";
    license = lib.licenses.asl20;
    platforms = tcfsDeno.meta.platforms;
    mainProgram = "tcfs";
  };
})
