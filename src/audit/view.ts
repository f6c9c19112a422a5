/** What the audit reads of an artifact's root filesystem: every entry's metadata, some contents. */

export interface FileEntry {
  /** Relative to the root, without a leading slash: `etc/shadow`. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits with setuid, setgid and sticky (07777). */
  mode: number;
  uid: number;
  size: number;
}

export interface FsView {
  entries: Map<string, FileEntry>;
  /** Contents of a file the view was asked to keep (see `wantsContent`); undefined otherwise. */
  content(path: string): Buffer | undefined;
}

const KEPT = /^(etc\/(shadow|machine-id|ssh\/.*|pacman\.d\/gnupg\/.*)|var\/lib\/dbus\/machine-id|var\/lib\/dpkg\/info\/[^/]+\.list|var\/lib\/pacman\/local\/[^/]+\/files|(root|home\/[^/]+)\/.*)$/;
const MAX_KEPT = 256 * 1024;

/** The files whose contents the rules read: small files in /etc/ssh, home directories, package file lists. */
export function wantsContent(path: string, size: number): boolean {
  return size <= MAX_KEPT && KEPT.test(path);
}

export function typeOfMode(mode: number): FileEntry['type'] {
  const fmt = mode & 0o170000;
  if (fmt === 0o100000) return 'file';
  if (fmt === 0o040000) return 'dir';
  if (fmt === 0o120000) return 'symlink';
  return 'other';
}
