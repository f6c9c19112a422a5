/**
 * systemd credentials passed to a VM in SMBIOS OEM strings (type 11): systemd imports them at boot,
 * its tmpfiles put `ssh.authorized_keys.root` into /root/.ssh/authorized_keys, and PID 1 takes
 * `system.hostname` as the hostname.
 */

/** Root's authorized key and the hostname, as OEM strings. */
export function jobCredentials(publicKey: string, hostname: string): string[] {
  return [`io.systemd.credential.binary:ssh.authorized_keys.root=${Buffer.from(`${publicKey.trim()}\n`).toString('base64')}`, `io.systemd.credential:system.hostname=${hostname}`];
}
