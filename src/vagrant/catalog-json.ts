/**
 * Vagrant catalog JSON (the "box metadata" `vagrant box add URL` reads): one box name, its
 * versions, each with one entry per provider. A pure function of the boxes' facts.
 */

export interface CatalogBox {
  file: string;
  version: string;
  provider: string;
  sha256: string;
}

export interface CatalogSpec {
  name: string;
  description: string;
  baseUrl: string;
  boxes: CatalogBox[];
}

export interface VagrantCatalog {
  name: string;
  description: string;
  versions: {
    version: string;
    /** Vagrant ignores it; boxes says here when a version was published without a second build. */
    description?: string;
    providers: {
      name: string;
      url: string;
      checksum_type: 'sha256';
      checksum: string;
      architecture: 'amd64';
      default_architecture: true;
    }[];
  }[];
}

/** Orders versions like Vagrant does (numeric segments compare as numbers). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const [x, y] = [pa[i] ?? '', pb[i] ?? ''];
    const [nx, ny] = [Number(x), Number(y)];
    const c = /^\d+$/.test(x) && /^\d+$/.test(y) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c;
  }
  return 0;
}

export function boxUrl(baseUrl: string, file: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(file)}`;
}

export function vagrantCatalog(spec: CatalogSpec): VagrantCatalog {
  const versions = [...new Set(spec.boxes.map((b) => b.version))].sort(compareVersions);
  return {
    name: spec.name,
    description: spec.description,
    versions: versions.map((version) => ({
      version,
      providers: spec.boxes
        .filter((b) => b.version === version)
        .sort((a, b) => a.provider.localeCompare(b.provider))
        .map((b) => ({
          name: b.provider,
          url: boxUrl(spec.baseUrl, b.file),
          checksum_type: 'sha256' as const,
          checksum: b.sha256,
          architecture: 'amd64' as const,
          default_architecture: true as const,
        })),
    })),
  };
}
