/**
 * Finds private key material in a file's bytes as they stream past, whatever the file is called:
 * PEM and OpenSSH private keys, PGP private key blocks. Only a short tail is kept between chunks,
 * so memory does not grow with the file.
 */

/** What a file's content revealed; the rules table names what each one means. */
export type ContentMarker = 'pem-private-key' | 'pgp-private-key';

const PATTERNS: readonly [ContentMarker, RegExp][] = [
  ['pgp-private-key', /-----BEGIN PGP PRIVATE KEY BLOCK-----/],
  ['pem-private-key', /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/],
];
/** Longer than any match, so a header split between two chunks is still seen. */
const TAIL = 96;

export class SecretScanner {
  readonly found = new Set<ContentMarker>();
  private tail = '';

  push(chunk: Buffer): void {
    if (this.found.size === PATTERNS.length) return;
    // latin1 maps every byte to one character: offsets and the tail stay byte-exact.
    const text = this.tail + chunk.toString('latin1');
    for (const [marker, pattern] of PATTERNS) if (pattern.test(text)) this.found.add(marker);
    this.tail = text.slice(-TAIL);
  }
}
