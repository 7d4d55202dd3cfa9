# Development shell: the pinned Deno (with DENORT_BIN, so `deno task compile`
# works offline), Node/npm for `npm ci`, and the real services the tests use.
{
  lib,
  stdenv,
  mkShell,
  tcfsDeno,
  nodejs,
  nats-server,
  age,
  fuse3,
  zstd,
}:
mkShell {
  packages = [
    tcfsDeno
    nodejs
    nats-server
    age
    zstd
  ]
  # The mount speaks the Linux /dev/fuse protocol; fusermount3 is Linux-only.
  ++ lib.optionals stdenv.hostPlatform.isLinux [ fuse3 ];

  DENORT_BIN = "${tcfsDeno}/bin/denort";
  DENO_NO_UPDATE_CHECK = "1";
}
