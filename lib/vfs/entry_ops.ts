/**
 * The kernel requests that change names in the tree: create, mknod, mkdir,
 * symlink, unlink, rmdir, rename (link is refused), plus the lookups they
 * share with the rest of the file system. Each change is journaled before
 * the reply and committed later (see writes.ts, committer.ts).
 *
 * @module
 */

import {
  type CreateReply,
  type EntryReply,
  Errno,
  FileType,
  FuseError,
  type RequestContext,
} from "../fuse/ops.ts";
import { MountControl } from "./control.ts";
import type { FileHandle } from "./handles.ts";
import type { InodeRef, Node } from "./inodes.ts";
import { resolveName } from "./naming.ts";

const O_ACCMODE = 3;
const RENAME_NOREPLACE = 1;

/** Answer the kernel with `errno`. */
export const fail = (errno: number, why?: string): never => {
  throw new FuseError(errno, why);
};

/** Name-changing requests of {@linkcode TcfsFileSystem}; see the module documentation. */
export class EntryOps extends MountControl {
  /** The node or alias behind `ino` (ENOENT when unknown). */
  protected ref(ino: number): InodeRef {
    return this.tree.inodes.get(ino) ?? fail(Errno.ENOENT, `unknown inode ${ino}`);
  }

  /** The directory `ino` (ENOTDIR, or ENOENT once it is unlinked). */
  protected dir(ino: number): Node {
    const ref = this.ref(ino);
    if (ref.view !== "node" || ref.node.kind !== "dir") fail(Errno.ENOTDIR);
    if (!ref.node.attached()) fail(Errno.ENOENT);
    return ref.node;
  }

  /** What `name` in `parent` reaches (see naming.ts). */
  protected resolve(parent: Node, name: string) {
    this.tree.children(parent);
    return resolveName(parent, name, this.view.names, this.view.isStub);
  }

  /** A directory stub is listed: from now on it shows under its real name. */
  protected expand(node: Node): void {
    if (node.kind !== "dir" || node.expanded) return;
    node.expanded = true;
    if (this.view.names === "stubs") this.view.invalidate(node.parent, node.name);
  }

  async #make(parent: number, name: string, kind: Node["kind"], mode: number): Promise<Node> {
    const dir = this.dir(parent);
    if (this.resolve(dir, name)) fail(Errno.EEXIST);
    const node = this.tree.create(dir, name, kind, mode & 0o7777);
    try {
      if (kind === "file") await this.writes.ensureWorkingCopy(node, true);
      else await this.writes.record([node]);
    } catch (err) {
      this.tree.unlink(node);
      throw err;
    }
    this.committer.schedule();
    return node;
  }

  /** Create a regular file (other node types are not kept). */
  async mknod(
    _c: RequestContext,
    parent: number,
    name: string,
    mode: number,
    _rdev: number,
    _umask: number,
  ): Promise<EntryReply> {
    if ((mode & FileType.S_IFMT) !== FileType.S_IFREG) fail(Errno.EPERM);
    return await this.view.entry(await this.#make(parent, name, "file", mode), "node");
  }

  /** Create a directory. */
  async mkdir(
    _c: RequestContext,
    parent: number,
    name: string,
    mode: number,
    _umask: number,
  ): Promise<EntryReply> {
    return await this.view.entry(await this.#make(parent, name, "dir", mode), "node");
  }

  /** Create a symlink. */
  async symlink(
    _ctx: RequestContext,
    parent: number,
    name: string,
    target: string,
  ): Promise<EntryReply> {
    const dir = this.dir(parent);
    if (this.resolve(dir, name)) fail(Errno.EEXIST);
    const node = this.tree.create(dir, name, "symlink", 0o777);
    node.target = target;
    node.size = new TextEncoder().encode(target).length;
    await this.writes.record([node]);
    this.committer.schedule();
    return await this.view.entry(node, "node");
  }

  /** Create and open a file. */
  async create(
    _ctx: RequestContext,
    parent: number,
    name: string,
    mode: number,
    flags: number,
    _umask: number,
  ): Promise<CreateReply> {
    const node = await this.#make(parent, name, "file", mode);
    const entry = await this.view.entry(node, "node");
    node.opens++;
    const writable = (flags & O_ACCMODE) !== 0;
    const handle: FileHandle = { node, view: "node", writable, dirty: true };
    await this.writes.hold(handle, node);
    const fh = this.fileHandles.add(handle);
    return { entry, open: { fh, keepCache: true } };
  }

  async #removeEntry(parent: number, name: string, dir: boolean): Promise<void> {
    const found = this.resolve(this.dir(parent), name) ?? fail(Errno.ENOENT);
    const node = found.node;
    if (dir && node.kind !== "dir") fail(Errno.ENOTDIR);
    if (!dir && node.kind === "dir") fail(Errno.EISDIR);
    if (dir && this.tree.children(node).size > 0) fail(Errno.ENOTEMPTY);
    const from = node.parent;
    const path = node.path()!;
    await this.writes.remove(node);
    if (found.view === "stub") this.view.invalidate(from, node.name);
    await this.dropContentOf(node);
    await this.pins.removed(path);
    this.committer.schedule();
  }

  /** Remove a file or symlink. */
  async unlink(_ctx: RequestContext, parent: number, name: string): Promise<void> {
    await this.#removeEntry(parent, name, false);
  }

  /** Remove an empty directory. */
  async rmdir(_ctx: RequestContext, parent: number, name: string): Promise<void> {
    await this.#removeEntry(parent, name, true);
  }

  /** Rename, replacing the target as POSIX says (RENAME_NOREPLACE honoured). */
  async rename(
    _ctx: RequestContext,
    parent: number,
    name: string,
    newParent: number,
    newName: string,
    flags: number,
  ): Promise<void> {
    if ((flags & ~RENAME_NOREPLACE) !== 0) fail(Errno.EINVAL);
    const found = this.resolve(this.dir(parent), name) ?? fail(Errno.ENOENT);
    const node = found.node;
    const to = this.dir(newParent);
    // `mv a.tc b.tc` renames the file a to b: a stub keeps its suffix out of the real name.
    const suffix = found.view === "stub" ? name.slice(node.name.length) : "";
    const realName = suffix && newName.endsWith(suffix) && newName.length > suffix.length
      ? newName.slice(0, -suffix.length)
      : newName;
    const target = this.tree.child(to, realName);
    if (target === node) return;
    if (target) {
      if (flags & RENAME_NOREPLACE) fail(Errno.EEXIST);
      if (target.kind === "dir" && node.kind !== "dir") fail(Errno.EISDIR);
      if (target.kind !== "dir" && node.kind === "dir") fail(Errno.ENOTDIR);
      if (target.kind === "dir" && this.tree.children(target).size > 0) fail(Errno.ENOTEMPTY);
    }
    for (let p: Node | null = to; p; p = p.parent) if (p === node) fail(Errno.EINVAL);
    const from = node.parent;
    const oldName = node.name;
    const oldPath = node.path()!;
    const replaced = await this.writes.move(node, to, realName);
    if (replaced) await this.dropContentOf(replaced);
    await this.pins.moved(node, oldPath);
    if (found.view === "stub") {
      // The kernel moved the alias's dentry; other spellings of both names are stale.
      this.view.invalidate(from, oldName);
      this.view.invalidate(to, realName);
    }
    this.committer.schedule();
  }

  /** Hard links are not supported (git and others fall back to rename). */
  link(): Promise<EntryReply> {
    return Promise.reject(new FuseError(Errno.EPERM, "hard links are not supported"));
  }
}
