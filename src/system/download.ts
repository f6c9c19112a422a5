/** HTTP downloads with a time limit that also end when the caller aborts. */

/** `fetch`, given up after `ms` or when `signal` aborts. */
export function fetchWithin(url: string, ms: number, signal?: AbortSignal, init: RequestInit = {}): Promise<Response> {
  const timeout = AbortSignal.timeout(ms);
  return fetch(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
}

/**
 * Every URL's body, downloaded at once, in the URLs' order; undefined when one answers other than
 * 2xx. Network failures reach the caller, which knows whether they matter.
 */
export async function downloadAll(urls: readonly string[], ms: number, signal?: AbortSignal): Promise<Buffer[] | undefined> {
  const bodies = await Promise.all(
    urls.map(async (url) => {
      const response = await fetchWithin(url, ms, signal);
      return response.ok ? Buffer.from(await response.arrayBuffer()) : undefined;
    }),
  );
  return bodies.every((b) => b !== undefined) ? bodies : undefined;
}
