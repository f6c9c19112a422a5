/**
 * The security invariants every artifact must keep, as data: each rule reads an FsView and names
 * the files that break it. Per-profile exceptions are listed here, come from the artifact's build
 * record (never its file name), and are documented in the README, as is every rule. One file on
 * purpose: the table is read as a whole, beside the README's.
 */
import { SecretScanner, type ContentMarker } from './secret-scan.js';
import type { FileEntry, FsView } from './view.js';

export interface Finding {
  rule: string;
  path: string;
  detail: string;
  /** The container layer that ships it, when the artifact has layers. */
  layer?: string;
}

export interface AuditContext {
  /** The profile the artifact's build record names; undefined (no record): no exceptions. */
  profile?: string;
  /** Paths the image's packages own, when they come from another view (a layer sees only its own lists). */
  packaged?: ReadonlySet<string>;
}

/**
 * `secret`: what a file holds or is, which ships wherever it sits: checked in every container
 * layer on its own (a later layer hiding it does not unship it) and in the final tree. `state`:
 * how the final tree behaves (modes, ownership by packages): checked in the final tree only.
 */
type Scope = 'secret' | 'state';

interface Rule {
  name: string;
  scope: Scope;
  check(view: FsView, context: AuditContext): Finding[];
}

/** Logins a profile documents: their passwords are set on purpose. */
export const ALLOWED_PASSWORDS: Record<string, string[] | undefined> = {
  basic: ['arch', 'debian'],
  'vagrant-libvirt': ['vagrant'],
  'vagrant-virtualbox': ['vagrant'],
};

const TMP_DIRS = /^(tmp|var\/tmp|dev\/shm|run|var\/lock)(\/|$)/;
const HISTORY = /(^|\/)\.(bash_history|zsh_history|sh_history|ash_history|python_history|mysql_history|psql_history|lesshst|viminfo)$/;
/** What the streaming scan finds, for a file only its kept content shows (disks). */
function scanned(content: Buffer | undefined): ReadonlySet<ContentMarker> | undefined {
  if (!content) return undefined;
  const scanner = new SecretScanner();
  scanner.push(content);
  return scanner.found;
}

/** Credential stores of common tools: the file is the secret, wherever it sits. */
const CREDENTIAL_FILES: readonly [RegExp, string][] = [
  [/(^|\/)\.netrc$/, 'netrc: machine logins and passwords'],
  [/(^|\/)\.git-credentials$/, 'git credential store'],
  [/(^|\/)\.aws\/credentials$/, 'AWS CLI access keys'],
  [/(^|\/)\.config\/gcloud\/(credentials\.db|access_tokens\.db|application_default_credentials\.json|legacy_credentials\/.+)$/, 'Google Cloud CLI credentials'],
  [/(^|\/)\.azure\/(accessTokens\.json|msal_token_cache\.(json|bin)|service_principal_entries\.json)$/, 'Azure CLI tokens'],
  [/(^|\/)\.config\/gh\/hosts\.yml$/, 'GitHub CLI token'],
  [/(^|\/)\.cargo\/credentials(\.toml)?$/, 'Cargo registry token'],
  [/(^|\/)\.gem\/credentials$/, 'RubyGems API key'],
  [/(^|\/)\.pypirc$/, 'PyPI upload credentials'],
  [/(^|\/)\.vault-token$/, 'Vault token'],
];
/** Configuration files that are fine until they hold a secret: the secret's mark in them. */
const CREDENTIAL_CONTENT: readonly [RegExp, RegExp, string][] = [
  [
    /(^|\/)(\.docker\/config\.json|\.config\/containers\/auth\.json|run\/containers\/[^/]+\/auth\.json)$/,
    /"(auth|identitytoken|registrytoken)"\s*:\s*"[^"]+"/,
    'container registry login',
  ],
  [/(^|\/)\.npmrc$/, /(_authToken|_auth|_password)\s*=/, 'npm registry token'],
  [/(^|\/)\.kube\/config$/, /^\s*(token|client-key-data|password)\s*:\s*\S/m, 'Kubernetes credentials'],
];
/** State each machine must make for itself, which mkosi and first boot are meant to leave out. */
const MACHINE_STATE: readonly [RegExp, string][] = [
  [/^var\/lib\/systemd\/random-seed$/, "systemd's random seed: every machine would start from the same entropy"],
  [/^var\/lib\/urandom\/random-seed$/, 'a random seed: every machine would start from the same entropy'],
  [/^var\/lib\/systemd\/credential\.secret$/, "systemd's credential key: every machine could read the others' credentials"],
  [/^var\/lib\/(dhcp|dhclient|NetworkManager)\/.*\.?leases?$|^var\/lib\/systemd\/netif\/leases\/.+/, 'a DHCP lease from the build'],
  [/^var\/lib\/cloud\/instances?\/.+/, "cloud-init's state of the build machine"],
];

const files = (view: FsView) => [...view.entries.values()].filter((e) => e.type === 'file');
const finding = (rule: string, e: FileEntry | string, detail: string): Finding => ({ rule, path: `/${typeof e === 'string' ? e : e.path}`, detail });

/** Account files and what their second field means: the user's or group's password. */
const ACCOUNT_FILES = [
  { path: 'etc/shadow', what: 'user' },
  { path: 'etc/shadow-', what: 'user' },
  { path: 'etc/passwd', what: 'user' },
  { path: 'etc/gshadow', what: 'group' },
  { path: 'etc/gshadow-', what: 'group' },
] as const;

function accountEntries(view: FsView, path: string): { name: string; hash: string }[] {
  const text = view.content(path)?.toString('utf8') ?? '';
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .map(([name, hash]) => ({ name: name ?? '', hash: hash ?? '' }));
}

/** A password hash that logs in: not locked (`!`, `*`, `!*`, `!<hash>`); passwd's `x` points at shadow. */
const unlocked = (hash: string) => hash !== '' && hash !== 'x' && !hash.startsWith('!') && !hash.startsWith('*');

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
    scope: 'secret',
    check: (view) =>
      files(view)
        .filter((e) => /^etc\/ssh\/ssh_host_[^/]*_key$/.test(e.path))
        .map((e) => finding('ssh-host-key', e, 'SSH host private key: every machine must make its own')),
  },
  {
    name: 'private-key',
    scope: 'secret',
    check: (view, context) => {
      const out: Finding[] = [];
      let owned: Set<string> | undefined;
      for (const e of files(view)) {
        if (/^etc\/ssh\/ssh_host_[^/]*_key$/.test(e.path)) continue;
        const markers = view.markers?.(e.path) ?? scanned(view.content(e.path));
        if (/(^|\/)(private-keys-v1\.d\/[^/]+|secring\.gpg)$/.test(e.path)) out.push(finding('private-key', e, 'GnuPG private key (pacman keyring or user keyring)'));
        else if (/(^|\/)\.ssh\/id_[^/.]+$/.test(e.path)) out.push(finding('private-key', e, 'SSH user private key'));
        // A key header inside a packaged executable or library is its parser's literal, not a key.
        else if (markers?.has('elf') && (context.packaged ?? (owned ??= packagedPaths(view))).has(e.path)) continue;
        else if (markers?.has('pgp-private-key')) out.push(finding('private-key', e, 'holds a PGP private key block'));
        else if (markers?.has('pem-private-key')) out.push(finding('private-key', e, 'holds a PEM private key'));
      }
      return out;
    },
  },
  {
    name: 'credentials',
    scope: 'secret',
    check: (view) => {
      const out: Finding[] = [];
      for (const e of files(view)) {
        const store = CREDENTIAL_FILES.find(([pattern]) => pattern.test(e.path));
        if (store) out.push(finding('credentials', e, store[1]));
        const config = CREDENTIAL_CONTENT.find(([pattern]) => pattern.test(e.path));
        // A config the view could not keep (too large) counts as holding the secret: never clean by accident.
        if (config && (view.content(e.path) === undefined || config[1].test(view.content(e.path)!.toString('utf8')))) out.push(finding('credentials', e, config[2]));
      }
      return out;
    },
  },
  {
    name: 'machine-state',
    scope: 'secret',
    check: (view) =>
      [...view.entries.values()]
        .filter((e) => e.type === 'file')
        .flatMap((e) => MACHINE_STATE.filter(([pattern]) => pattern.test(e.path)).map(([, detail]) => finding('machine-state', e, detail))),
  },
  {
    name: 'machine-id',
    scope: 'secret',
    check: (view) =>
      ['etc/machine-id', 'var/lib/dbus/machine-id']
        .filter((p) => view.entries.get(p)?.type === 'file')
        .filter((p) => !['', 'uninitialized'].includes(view.content(p)?.toString('utf8').trim() ?? ''))
        .map((p) => finding('machine-id', p, 'a machine-id ships: every machine must get its own (empty or "uninitialized")')),
  },
  {
    name: 'password',
    scope: 'secret',
    check: (view, context) => {
      const allowed = ALLOWED_PASSWORDS[context.profile ?? ''] ?? [];
      const out: Finding[] = [];
      for (const file of ACCOUNT_FILES) {
        if (view.entries.get(file.path)?.type !== 'file') continue;
        for (const a of accountEntries(view, file.path)) {
          if (file.what === 'user' && a.hash === '') out.push(finding('password', file.path, `user ${a.name} logs in without a password (empty password field)`));
          else if (unlocked(a.hash) && !(file.what === 'user' && allowed.includes(a.name)))
            out.push(
              finding(
                'password',
                file.path,
                file.what === 'group' ? `group ${a.name} has a password` : a.name === 'root' ? "root's password is not locked" : `user ${a.name} has a password`,
              ),
            );
        }
      }
      return out;
    },
  },
  {
    name: 'shell-history',
    scope: 'secret',
    check: (view) =>
      [...view.entries.values()].filter((e) => e.type !== 'dir' && HISTORY.test(e.path)).map((e) => finding('shell-history', e, 'shell or tool history from the build')),
  },
  {
    name: 'package-cache',
    scope: 'secret',
    check: (view) =>
      files(view)
        .filter((e) => /^var\/cache\/pacman\/pkg\/|^var\/cache\/apt\/(archives\/.*\.deb|.*\.bin)$|^var\/lib\/pacman\/sync\/|^var\/lib\/apt\/lists\/[^/]+_[^/]+$/.test(e.path))
        .map((e) => finding('package-cache', e, 'package cache or sync database')),
  },
  {
    name: 'package-log',
    scope: 'secret',
    check: (view) =>
      files(view)
        .filter((e) => /^var\/log\/(pacman\.log|dpkg\.log|alternatives\.log|apt\/.+)$/.test(e.path))
        .map((e) => finding('package-log', e, 'package manager log from the build')),
  },
  {
    name: 'world-writable',
    scope: 'state',
    check: (view) =>
      [...view.entries.values()]
        .filter((e) => e.type !== 'symlink' && e.mode & 0o002 && !TMP_DIRS.test(e.path) && !(e.type === 'dir' && e.mode & 0o1000))
        .map((e) => finding('world-writable', e, `mode ${(e.mode & 0o7777).toString(8).padStart(4, '0')}: anyone can write it`)),
  },
  {
    name: 'setuid',
    scope: 'state',
    check: (view) => {
      const special = files(view).filter((e) => e.mode & 0o6000);
      if (special.length === 0) return [];
      const owned = packagedPaths(view);
      return special.filter((e) => !owned.has(e.path)).map((e) => finding('setuid', e, `setuid/setgid (mode ${e.mode.toString(8)}) and no package owns it`));
    },
  },
];

const order = (a: Finding, b: Finding) => a.path.localeCompare(b.path) || a.rule.localeCompare(b.rule) || (a.layer ?? '').localeCompare(b.layer ?? '');

/** A filesystem with no layers (a disk): every rule. */
export function audit(view: FsView, context: AuditContext): Finding[] {
  return RULES.flatMap((r) => r.check(view, context)).sort(order);
}

/**
 * A layered artifact: secret rules on every layer (findings name the layer) and on every final
 * tree, state rules on the final trees; a final tree's secret that a layer already showed is not
 * reported twice.
 */
export function auditLayered(layers: readonly FsView[], images: readonly FsView[], context: AuditContext): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  const key = (f: Finding) => `${f.rule}\0${f.path}\0${f.detail}`;
  const packaged = new Set(images.flatMap((image) => [...packagedPaths(image)]));
  for (const layer of layers)
    for (const f of RULES.filter((r) => r.scope === 'secret').flatMap((r) => r.check(layer, { ...context, packaged }))) {
      seen.add(key(f));
      out.push({ ...f, layer: layer.layer });
    }
  for (const image of images)
    for (const f of RULES.flatMap((r) => r.check(image, context)))
      if (!seen.has(key(f))) {
        seen.add(key(f));
        out.push(f);
      }
  return out.sort(order);
}
