/**
 * An SPDX 2.3 JSON SBOM for one artifact: the artifact as the described package, containing every
 * package of the image. A pure function of the build record, so equal records give equal SBOMs.
 */
import type { BuildRecord, PackageEntry } from './schema.js';

const NOASSERTION = 'NOASSERTION';

function purl(p: PackageEntry, record: BuildRecord): string | undefined {
  const version = encodeURIComponent(p.version);
  if (p.type === 'deb') return `pkg:deb/debian/${encodeURIComponent(p.name)}@${version}?arch=${p.architecture}&distro=debian-${record.image.release}`;
  if (p.type === 'pkg') return `pkg:alpm/arch/${encodeURIComponent(p.name)}@${version}?arch=${p.architecture}`;
  return undefined;
}

const spdxId = (prefix: string, name: string, n: number) => `SPDXRef-${prefix}-${name.replace(/[^A-Za-z0-9.-]/g, '-')}-${n}`;

export function spdxSbom(record: BuildRecord) {
  const artifactId = 'SPDXRef-Artifact';
  const created = new Date(record.image.sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const packages = record.packages.map((p, i) => {
    const locator = purl(p, record);
    return {
      SPDXID: spdxId('Package', p.name, i + 1),
      name: p.name,
      versionInfo: p.version,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      // mkosi's manifest carries no license data; nothing is asserted rather than guessed.
      licenseConcluded: NOASSERTION,
      licenseDeclared: NOASSERTION,
      copyrightText: NOASSERTION,
      ...(locator ? { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: locator }] } : {}),
    };
  });
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: record.artifact.name,
    documentNamespace: `https://spdx.boxes.invalid/${encodeURIComponent(record.artifact.name)}/${record.artifact.sha256}`,
    creationInfo: { created, creators: [`Tool: boxes-${record.tool.version}`] },
    packages: [
      {
        SPDXID: artifactId,
        name: record.artifact.name,
        versionInfo: record.image.buildVersion,
        downloadLocation: NOASSERTION,
        filesAnalyzed: false,
        checksums: [{ algorithm: 'SHA256', checksumValue: record.artifact.sha256 }],
        primaryPackagePurpose: record.image.profile === 'container' ? 'CONTAINER' : 'OPERATING-SYSTEM',
        licenseConcluded: NOASSERTION,
        licenseDeclared: NOASSERTION,
        copyrightText: NOASSERTION,
      },
      ...packages,
    ],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: artifactId },
      ...packages.map((p) => ({ spdxElementId: artifactId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
  };
}
