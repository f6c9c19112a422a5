/** What the audit reads of an artifact's root filesystem: every entry's metadata, some contents. */
import type { ContentMarker } from './secret-scan.js';

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
  /** What a scan of the file's whole content found (private key material), where the reader scans every file. */
  markers?(path: string): ReadonlySet<ContentMarker> | undefined;
  /** Which part of the artifact this is, for findings: a container layer. */
  layer?: string;
}

const KEPT =
  /^(etc\/(fstab|passwd|shadow-?|gshadow-?|machine-id|ssh\/.*|pacman\.d\/gnupg\/.*)|var\/lib\/dbus\/machine-id|var\/lib\/dpkg\/info\/[^/]+\.list|var\/lib\/pacman\/local\/[^/]+\/files|(root|home\/[^/]+)\/.*|(.*\/)?\.(docker\/config\.json|config\/containers\/auth\.json|npmrc|kube\/config)|run\/containers\/[^/]+\/auth\.json)$/;
const MAX_KEPT = 256 * 1024;

/** The files whose contents the rules read: accounts, small files in /etc/ssh and home directories, credential configs, package file lists. */
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
