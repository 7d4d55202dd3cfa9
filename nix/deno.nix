# Deno at exactly the version package-lock.json pins (the `deno` npm dev
# dependency), together with the matching `denort`.
#
# Why not nixpkgs' `deno`: its version follows the nixpkgs revision, not the
# one tcfs is tested with (Deno 2.9 features such as zstd in node:zlib are
# used), and it deletes `denort`, the slim runtime that `deno compile` wraps a
# program in. Without `denort` at hand, `deno compile` downloads it, which the
# build sandbox forbids; with DENORT_BIN pointing at it the compile is offline.
# The `deno` and `denort` versions must be identical.
#
# The `deno` binary comes from the npm registry and its hash is the
# `integrity` of `@deno/<platform>` in package-lock.json, so it needs no
# maintenance here. `denort` is not published on npm: its hashes below are
# placeholders that must be filled in once per Deno version, e.g.
#   nix store prefetch-file https://github.com/denoland/deno/releases/download/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
# (or build, and copy the "got: sha256-..." from the hash-mismatch error).
# Each value can be cross-checked against the release's `<zip>.sha256sum`.
{
  lib,
  stdenv,
  fetchurl,
  unzip,
  autoPatchelfHook,
  lockFile,
}:
let
  lock = lib.importJSON lockFile;
  version = lock.packages."node_modules/deno".version;

  # Nix system -> npm platform package and Rust target triple of Deno's releases.
  platforms = {
    x86_64-linux = {
      npm = "linux-x64-glibc";
      target = "x86_64-unknown-linux-gnu";
    };
    aarch64-linux = {
      npm = "linux-arm64-glibc";
      target = "aarch64-unknown-linux-gnu";
    };
    x86_64-darwin = {
      npm = "darwin-x64";
      target = "x86_64-apple-darwin";
    };
    aarch64-darwin = {
      npm = "darwin-arm64";
      target = "aarch64-apple-darwin";
    };
  };

  # FILL IN: sha256 of denort-<target>.zip for the Deno version above (see the header).
  denortHashes = {
    x86_64-linux = lib.fakeHash;
    aarch64-linux = lib.fakeHash;
    x86_64-darwin = lib.fakeHash;
    aarch64-darwin = lib.fakeHash;
  };

  system = stdenv.hostPlatform.system;
  platform = platforms.${system} or (throw "tcfs: Deno publishes no build for ${system}");
  npmPackage = "@deno/${platform.npm}";

  denoTarball = fetchurl {
    url = "https://registry.npmjs.org/${npmPackage}/-/${platform.npm}-${version}.tgz";
    hash =
      lock.packages."node_modules/${npmPackage}".integrity
        or (throw "tcfs: package-lock.json has no ${npmPackage}; regenerate it with npm >= 7");
  };

  denortZip = fetchurl {
    url = "https://github.com/denoland/deno/releases/download/v${version}/denort-${platform.target}.zip";
    hash = denortHashes.${system};
  };
in
stdenv.mkDerivation {
  pname = "deno-bin";
  inherit version;

  dontUnpack = true;

  nativeBuildInputs = [ unzip ] ++ lib.optionals stdenv.hostPlatform.isLinux [ autoPatchelfHook ];
  # Release builds link libgcc_s besides glibc; autoPatchelfHook resolves it here.
  buildInputs = lib.optionals stdenv.hostPlatform.isLinux [ stdenv.cc.cc.lib ];

  installPhase = ''
    runHook preInstall
    mkdir -p $out/bin
    tar -xzf ${denoTarball} --strip-components=1 package/deno
    unzip -q ${denortZip} denort
    install -m755 deno denort $out/bin/
    runHook postInstall
  '';

  # Release binaries are already stripped; leave their bytes as published
  # (denort is copied verbatim into every compiled program).
  dontStrip = true;

  meta = {
    description = "Deno ${version} release binaries (deno and denort) as pinned by package-lock.json";
    homepage = "https://deno.com/";
    license = lib.licenses.mit;
    sourceProvenance = [ lib.sourceTypes.binaryNativeCode ];
    platforms = builtins.attrNames platforms;
    mainProgram = "deno";
  };
}
