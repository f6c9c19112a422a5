/**
 * The security invariants every artifact must keep, as data: each rule reads an FsView and names
 * the files that break it. Per-profile exceptions are listed here and documented in the README.
 */
import type { FileEntry, FsView } from './view.js';

export interface Finding {
  rule: string;
  path: string;
  detail: string;
}

export interface AuditContext {
  /** The profile the artifact was built with, when its name tells; undefined: no exceptions. */
  profile?: string;
}

interface Rule {
  name: string;
  check(view: FsView, context: AuditContext): Finding[];
}

/** Logins a profile documents: their passwords are set on purpose. */
const ALLOWED_PASSWORDS: Record<string, string[]> = {
  basic: ['arch', 'debian'],
  'vagrant-libvirt': ['vagrant'],
  'vagrant-virtualbox': ['vagrant'],
};

const TMP_DIRS = /^(tmp|var\/tmp|dev\/shm|run|var\/lock)(\/|$)/;
const HISTORY = /(^|\/)\.(bash_history|zsh_history|sh_history|ash_history|python_history|mysql_history|psql_history|lesshst|viminfo)$/;
const PRIVATE_KEY_TEXT = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/;

const files = (view: FsView) => [...view.entries.values()].filter((e) => e.type === 'file');
const finding = (rule: string, e: FileEntry | string, detail: string): Finding => ({ rule, path: `/${typeof e === 'string' ? e : e.path}`, detail });

function shadowEntries(view: FsView): { user: string; hash: string }[] {
  const text = view.content('etc/shadow')?.toString('utf8') ?? '';
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':'))
    .map(([user, hash]) => ({ user: user ?? '', hash: hash ?? '' }));
}

/** A password hash that logs in: not empty-locked (`!`, `*`, `!*`, `!<hash>`). */
const unlocked = (hash: string) => hash !== '' && !hash.startsWith('!') && !hash.startsWith('*');

/** Paths that packages own, from dpkg's and pacman's file lists; /bin, /sbin and /lib alias /usr. */
function packagedPaths(view: FsView): Set<string> {
  const owned = new Set<string>();
  for (const path of view.entries.keys()) {
    const text = /^var\/lib\/dpkg\/info\/[^/]+\.list$/.test(path) || /^var\/lib\/pacman\/local\/[^/]+\/files$/.test(path) ? view.content(path)?.toString('utf8') : undefined;
    for (const line of text?.split('\n') ?? []) {
      const p = line.trim().replace(/^\//, '');
      if (!p || p.startsWith('%')) continue;
      owned.add(p);
      owned.add(p.replace(/^(bin|sbin|lib|lib64)\//, 'usr/$1/'));
    }
  }
  return owned;
}

export const RULES: readonly Rule[] = [
  {
    name: 'ssh-host-key',
    check: (view) => files(view).filter((e) => /^etc\/ssh\/ssh_host_[^/]*_key$/.test(e.path)).map((e) => finding('ssh-host-key', e, 'SSH host private key: every machine must make its own')),
  },
  {
    name: 'private-key',
    check: (view) => {
      const out: Finding[] = [];
      for (const e of files(view)) {
        if (/^etc\/ssh\/ssh_host_[^/]*_key$/.test(e.path)) continue;
        if (/(^|\/)(private-keys-v1\.d\/[^/]+|secring\.gpg)$/.test(e.path)) out.push(finding('private-key', e, 'GnuPG private key (pacman keyring or user keyring)'));
        else if (/(^|\/)\.ssh\/id_[^/.]+$/.test(e.path)) out.push(finding('private-key', e, 'SSH user private key'));
        else if (PRIVATE_KEY_TEXT.test(view.content(e.path)?.toString('latin1') ?? '')) out.push(finding('private-key', e, 'holds a PEM private key'));
      }
      return out;
    },
  },
  {
    name: 'machine-id',
    check: (view) =>
      ['etc/machine-id', 'var/lib/dbus/machine-id']
        .filter((p) => view.entries.get(p)?.type === 'file')
        .filter((p) => !['', 'uninitialized'].includes(view.content(p)?.toString('utf8').trim() ?? ''))
        .map((p) => finding('machine-id', p, 'a machine-id ships: every machine must get its own (empty or "uninitialized")')),
  },
  {
    name: 'password',
    check: (view, context) => {
      const allowed = ALLOWED_PASSWORDS[context.profile ?? ''] ?? [];
      return shadowEntries(view)
        .filter((s) => unlocked(s.hash) && !allowed.includes(s.user))
        .map((s) => finding('password', 'etc/shadow', s.user === 'root' ? "root's password is not locked" : `user ${s.user} has a password`));
    },
  },
  {
    name: 'shell-history',
    check: (view) => [...view.entries.values()].filter((e) => e.type !== 'dir' && HISTORY.test(e.path)).map((e) => finding('shell-history', e, 'shell or tool history from the build')),
  },
  {
    name: 'package-cache',
    check: (view) =>
      files(view)
        .filter((e) => /^var\/cache\/pacman\/pkg\/|^var\/cache\/apt\/(archives\/.*\.deb|.*\.bin)$|^var\/lib\/pacman\/sync\/|^var\/lib\/apt\/lists\/[^/]+_[^/]+$/.test(e.path))
        .map((e) => finding('package-cache', e, 'package cache or sync database')),
  },
  {
    name: 'package-log',
    check: (view) =>
      files(view)
        .filter((e) => /^var\/log\/(pacman\.log|dpkg\.log|alternatives\.log|apt\/.+)$/.test(e.path))
        .map((e) => finding('package-log', e, 'package manager log from the build')),
  },
  {
    name: 'world-writable',
    check: (view) =>
      [...view.entries.values()]
        .filter((e) => e.type !== 'symlink' && e.mode & 0o002 && !TMP_DIRS.test(e.path) && !(e.type === 'dir' && e.mode & 0o1000))
        .map((e) => finding('world-writable', e, `mode ${(e.mode & 0o7777).toString(8).padStart(4, '0')}: anyone can write it`)),
  },
  {
    name: 'setuid',
    check: (view) => {
      const special = files(view).filter((e) => e.mode & 0o6000);
      if (special.length === 0) return [];
      const owned = packagedPaths(view);
      return special.filter((e) => !owned.has(e.path)).map((e) => finding('setuid', e, `setuid/setgid (mode ${e.mode.toString(8)}) and no package owns it`));
    },
  },
];

export function audit(view: FsView, context: AuditContext): Finding[] {
  return RULES.flatMap((r) => r.check(view, context)).sort((a, b) => a.path.localeCompare(b.path) || a.rule.localeCompare(b.rule));
}
