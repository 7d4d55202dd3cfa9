/**
 * On-disk and on-wire formats of tcfs.
 *
 * Stubs: `name.tc` stands for a remote file that is not downloaded and
 * `name.tcf` for an unsynced directory; see `docs/FORMAT.md`.
 *
 * @module
 */

export {
  DIR_STUB_SUFFIX,
  type DirStub,
  type DirStubEntry,
  FILE_STUB_SUFFIX,
  type FileStub,
  formatDirStub,
  formatFileStub,
  isStubName,
  MAX_DIR_STUB_BYTES,
  MAX_STUB_BYTES,
  parseDirStub,
  parseFileStub,
  realNameOf,
  STUB_VERSION,
  StubFormatError,
  stubNameFor,
} from "./stub.ts";
