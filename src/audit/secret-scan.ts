/**
 * Finds private key material in a file's bytes as they stream past, whatever the file is called:
 * PEM and OpenSSH private keys, PGP private key blocks. A key is its BEGIN line followed by its
 * body (armor headers allowed, then base64), not the BEGIN line alone: parsers carry that line as
 * a literal (Python's cryptography, libgnutls, libssh2), and a literal is followed by code or a
 * NUL, never by base64. Only a short tail is kept between chunks, so memory does not grow with
 * the file.
 */

/**
 * What a file's content revealed; the rules table names what each one means. `elf`: the file is
 * an executable or library, where a key header is usually a parser's literal (libgnutls, libssh2).
 */
export type ContentMarker = 'pem-private-key' | 'pgp-private-key' | 'elf';

/** Up to four armor headers (`Proc-Type:`, `DEK-Info:`, `Version:`, `Comment:`), an optional blank line, then 32 base64 characters of body. */
const BODY = String.raw`\r?\n(?:[A-Za-z-]{1,40}:[^\r\n]{0,200}\r?\n){0,4}(?:\r?\n)?[A-Za-z0-9+/=]{32}`;
const PATTERNS: readonly [ContentMarker, RegExp][] = [
  ['pgp-private-key', new RegExp(`-----BEGIN PGP PRIVATE KEY BLOCK-----${BODY}`)],
  ['pem-private-key', new RegExp(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----${BODY}`)],
];
/** Longer than any match, so a key split between two chunks is still seen. */
const TAIL = 2048;

export class SecretScanner {
  readonly found = new Set<ContentMarker>();
  private tail = '';
  private first = true;

  /** Whether a key header was seen (the `elf` mark alone is no finding). */
  get secret(): boolean {
    return PATTERNS.some(([marker]) => this.found.has(marker));
  }

  push(chunk: Buffer): void {
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) this.found.add('elf');
    }
    if (PATTERNS.every(([marker]) => this.found.has(marker))) return;
    // latin1 maps every byte to one character: offsets and the tail stay byte-exact.
    const text = this.tail + chunk.toString('latin1');
    if (text.includes('PRIVATE KEY')) for (const [marker, pattern] of PATTERNS) if (pattern.test(text)) this.found.add(marker);
    this.tail = text.slice(-TAIL);
  }
}
