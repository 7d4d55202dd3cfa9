# The production npm dependencies as a `node_modules` tree, built without
# running npm and without any hash to maintain.
#
# package-lock.json (lockfile v3) already lists the exact folder of every
# installed package and the `integrity` of its tarball. Each tarball becomes
# its own fixed-output fetch with that hash, and is unpacked at its folder.
# Changing the lock file changes the fetches; nothing here needs editing.
#
# Left out on purpose: dev dependencies (the `deno` npm package with its
# ~100 MB binary, fast-check), because `deno compile` embeds the whole
# node_modules folder into the executable, and optional packages meant for
# another OS or CPU. Install scripts are not run (none is needed: the only
# one, protobufjs', prints a notice).
{
  lib,
  stdenvNoCC,
  fetchurl,
  lockFile,
}:
let
  lock = lib.importJSON lockFile;
  registry = "https://registry.npmjs.org";

  # "node_modules/a/node_modules/@s/b" -> "@s/b"; an alias entry names its real package.
  packageName = path: entry: entry.name or (lib.last (lib.splitString "node_modules/" path));

  tarballUrl =
    path: entry:
    let
      name = packageName path entry;
    in
    entry.resolved or "${registry}/${name}/-/${lib.last (lib.splitString "/" name)}-${entry.version}.tgz";

  # npm's names for the host, as used in a package's `os` and `cpu` lists.
  host = stdenvNoCC.hostPlatform;
  npmOs = if host.isDarwin then "darwin" else if host.isLinux then "linux" else host.parsed.kernel.name;
  npmCpu =
    if host.isx86_64 then
      "x64"
    else if host.isAarch64 then
      "arm64"
    else
      host.parsed.cpu.name;
  # A list allows the host if it names it, or only excludes ("!name") others.
  allows =
    list: value:
    builtins.elem value list
    || (builtins.all (lib.hasPrefix "!") list && !(builtins.elem "!${value}" list));
  runsHere = entry: allows (entry.os or [ npmOs ]) npmOs && allows (entry.cpu or [ npmCpu ]) npmCpu;

  wanted = lib.filterAttrs (
    path: entry:
    path != ""
    && !(entry.dev or false)
    && !(entry.link or false)
    && (!(entry.optional or false) || runsHere entry)
  ) lock.packages;

  unpacked = lib.mapAttrsToList (path: entry: {
    inherit path;
    tarball = fetchurl {
      url = tarballUrl path entry;
      hash =
        entry.integrity or (throw "tcfs: package-lock.json entry ${path} has no integrity; run npm install");
    };
  }) wanted;
in
stdenvNoCC.mkDerivation {
  name = "tcfs-node-modules";

  dontUnpack = true;
  dontConfigure = true;
  dontBuild = true;

  installPhase = ''
    runHook preInstall
    ${lib.concatMapStrings (p: ''
      mkdir -p "$out/${p.path}"
      tar -xzf ${p.tarball} -C "$out/${p.path}" --strip-components=1 --no-same-owner --no-same-permissions
    '') unpacked}
    runHook postInstall
  '';

  # Deno reads these files as modules and never runs them as programs:
  # no shebang patching or stripping.
  dontFixup = true;

  passthru.packageCount = builtins.length unpacked;
}
