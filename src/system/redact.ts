/**
 * Secrets that travel inside URLs (a mirror's `user:password@`, a `?private_token=`) are shown as
 * `***` wherever boxes prints, logs or records a URL: the command lines it runs, its messages, its
 * build records. Only the child process gets the real value.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi;
const TOKEN_PARAMS = /([?&](?:private_token|job_token|access_token|token|password|secret|key)=)[^&#\s]*/gi;

export function redactSecrets(text: string): string {
  return text.replace(USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:***@`).replace(TOKEN_PARAMS, '$1***');
}

/** Whether a text holds something redactSecrets would hide. */
export function holdsSecret(text: string): boolean {
  return redactSecrets(text) !== text;
}
