# Homebrew formula for tcfs: one `deno compile`d executable.
#
# FILL IN before publishing: `url` (the release tarball) and its `sha256`
# (`brew fetch --build-from-source ./tcfs.rb` prints the real one).
#
# Homebrew builds may use the network: npm installs the dependencies pinned by
# package-lock.json, and `deno compile` downloads the `denort` runtime that
# matches Homebrew's deno. Not tried here: whether bottle relocation on Linux
# (patchelf) leaves the program stored inside the executable intact; building
# from source avoids the question.
class Tcfs < Formula
  desc "Self-hosted, S3-first file sync with on-demand hydration"
  homepage "https://github.com/tummycrypt/tcfs"
  url "https://github.com/tummycrypt/tcfs/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license "Apache-2.0"
  head "https://github.com/tummycrypt/tcfs.git", branch: "main"

  depends_on "deno" => :build
  depends_on "node" => :build

  def install
    deno = Formula["deno"]
    # tcfs uses Deno 2.9 features (for example zstd in node:zlib).
    odie "tcfs needs Deno 2.9 or later to build, Homebrew has #{deno.version}" if deno.version < Version.new("2.9")

    # Production dependencies only: deno compile embeds the whole node_modules folder.
    system "npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"
    ENV["DENO_DIR"] = (buildpath/".deno-dir").to_s
    ENV["DENO_NO_UPDATE_CHECK"] = "1"
    # Same command as the `compile` task in deno.json; keep the two in step.
    system deno.opt_bin/"deno", "compile", "--unstable-kv", "-A", "--include", "proto/",
           "--output", "dist/tcfs", "main.ts"
    bin.install "dist/tcfs"
  end

  def caveats
    <<~EOS
      `tcfs mount` speaks the Linux kernel FUSE protocol and needs the system's
      fuse3 (fusermount3). On macOS every other command works; the mount does not.
    EOS
  end

  test do
    assert_match "tcfs #{version} ", shell_output("#{bin}/tcfs version")
  end
end
