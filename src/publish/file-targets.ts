/**
 * Where `--boxes` puts disk images, Vagrant boxes and the catalog: a directory (files copied in
 * atomically) or GitLab's generic package registry (one package version per build version).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256File } from '../system/sha256.js';
import { PublishRefused } from '../system/errors.js';
import { makeDirectory } from '../system/host.js';
import { writeFileAtomic } from '../system/write-atomic.js';
import { boxUrl } from '../vagrant/catalog-json.js';
import { downloadSha256, downloadText, packageFileUrl, uploadFile, uploadText, type HttpIo } from '../adapters/gitlab.js';

export interface FileTarget {
  /** For messages: the directory, or the package's URL. */
  where: string;
  /** Where the file of this version will be served from (the catalog's box URLs). */
  urlFor(version: string, file: string): string;
  /** Before anything is written: refuses to replace a published file with other bytes. */
  check(version: string, file: string, sha256: string): Promise<void>;
  put(version: string, file: string, path: string): Promise<void>;
  readCatalog(name: string): Promise<string | undefined>;
  writeCatalog(name: string, text: string): Promise<string>;
}

export function directoryTarget(dir: string, baseUrl?: string, signal?: AbortSignal): FileTarget {
  const root = resolve(dir);
  const base = baseUrl ?? pathToFileURL(root).href;
  return {
    where: root,
    urlFor: (_version, file) => boxUrl(base, file),
    async check(_version, file, sha256) {
      const there = await sha256File(join(root, file), signal).catch((error: NodeJS.ErrnoException) => {
        if (signal?.aborted) throw signal.reason;
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (there !== undefined && there !== sha256)
        throw new PublishRefused(`${join(root, file)} already exists with other bytes`, 'published files never change: build with another --build-version');
    },
    async put(_version, file, path) {
      // Not mkdir's recursive mode: on /proc and the like it never returns (ENOENT under a parent that exists).
      await makeDirectory(root, 'the --boxes directory', '--boxes directory');
      const temp = join(root, `.${file}.${process.pid}.tmp`);
      try {
        // A stream, not copyFile: an interrupt stops a copy of gigabytes between two chunks, and the copy is dropped, never renamed into place.
        await pipeline(createReadStream(path), createWriteStream(temp, { flags: 'wx' }), { signal }).catch((error: unknown) => {
          // The stream's AbortError carries no exit code; the interruption that caused it does.
          throw signal?.aborted ? signal.reason : error;
        });
        signal?.throwIfAborted();
        await rename(temp, join(root, file));
      } finally {
        await rm(temp, { force: true });
      }
    },
    readCatalog: (name) =>
      readFile(join(root, name), 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      }),
    async writeCatalog(name, text) {
      await writeFileAtomic(join(root, name), text);
      return join(root, name);
    },
  };
}

/** Catalogs live in the package under this version: each upload adds a file, downloads get the newest. */
const CATALOG_VERSION = 'catalog';

export function gitlabTarget(projectApi: string, pkg: string, io: HttpIo): FileTarget {
  const url = (version: string, file: string) => packageFileUrl(projectApi, pkg, version, file);
  return {
    where: `${projectApi.replace(/\/+$/, '')}/packages/generic/${pkg}`,
    urlFor: url,
    async check(version, file, sha256) {
      const there = await downloadSha256(url(version, file), io);
      if (there !== undefined && there !== sha256)
        throw new PublishRefused(`${url(version, file)} is already published with other bytes`, 'published files never change: build with another --build-version');
    },
    put: (version, file, path) => uploadFile(url(version, file), path, io),
    readCatalog: (name) => downloadText(url(CATALOG_VERSION, name), io),
    async writeCatalog(name, text) {
      await uploadText(url(CATALOG_VERSION, name), text, io);
      return url(CATALOG_VERSION, name);
    },
  };
}
