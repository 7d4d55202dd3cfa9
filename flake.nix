{
  description = "tcfs: self-hosted, S3-first file sync with on-demand hydration";

  # `nix flake lock` (with network) writes flake.lock, which pins this.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      # One pinned Deno per system, shared by the package and the shell.
      denoFor = pkgs: pkgs.callPackage ./nix/deno.nix { lockFile = ./package-lock.json; };
    in
    {
      packages = forAllSystems (
        pkgs:
        let
          tcfsDeno = denoFor pkgs;
        in
        rec {
          tcfs = pkgs.callPackage ./nix/package.nix { inherit tcfsDeno; };
          default = tcfs;
          deno = tcfsDeno;
          node-modules = tcfs.nodeModules;
        }
      );

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${pkgs.stdenv.hostPlatform.system}.tcfs}/bin/tcfs";
        };
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.callPackage ./nix/shell.nix { tcfsDeno = denoFor pkgs; };
      });
    };
}
