/** ssh command lines into a test VM: forwarded port on loopback, throwaway host keys never trusted. */

export interface SshLogin {
  port: number;
  /** Default 127.0.0.1 (a forwarded port). */
  host?: string;
  user: string;
  /** Password login through sshpass (basic images). */
  password?: string;
  /** Private key file (cloud-init images, Vagrant boxes). */
  identity?: string;
}

const COMMON = [
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'GlobalKnownHostsFile=/dev/null',
  '-o',
  'LogLevel=ERROR',
  '-o',
  'ConnectTimeout=10',
  '-o',
  'ServerAliveInterval=10',
  '-o',
  'BatchMode=no',
];

export function sshArgs(login: SshLogin, command: string): string[] {
  const target = [`-p`, String(login.port), `${login.user}@${login.host ?? '127.0.0.1'}`, command];
  if (login.identity) {
    return ['ssh', ...COMMON, '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-i', login.identity, ...target];
  }
  if (login.password !== undefined) {
    return ['sshpass', '-p', login.password, 'ssh', ...COMMON, '-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'PubkeyAuthentication=no', ...target];
  }
  throw new Error('an SSH login needs a password or an identity');
}
