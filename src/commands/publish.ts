/** `boxes publish`: what a second build reproduced, to a registry, a directory or GitLab. */
import type { Command } from 'commander';
import { parsePublishOptions, type RawPublishOptions } from '../publish/options.js';
import { formatPublish, publish } from '../publish/publish.js';
import { interruptible } from './shared.js';

export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description('push container images to a registry and disk images and Vagrant boxes to a directory or GitLab, only what a second build reproduced')
    .option('--output-dir <dir>', 'the build output to publish (SHA256SUMS, records, verification statements)', 'output')
    .option('--registry <docker://HOST/NAME>', 'push each container archive under its tags (<variant>, <variant>-<version>)')
    .option('--sign-by <fingerprint>', 'sign the pushed images with this GnuPG key (containers simple signing)')
    .option('--sigstore-key <path>', 'sign the pushed images with this sigstore (cosign) private key')
    .option('--sign-passphrase-file <path>', 'passphrase of the signing key')
    .option('--authfile <path>', 'registry credentials (default: the containers auth file)')
    .option('--registries-d <dir>', 'containers registries.d configuration (where signatures are stored)')
    .option('--no-tls-verify', 'talk to the registry over plain HTTP or with unverified certificates (local registries)')
    .option('--boxes <dir|url>', 'a directory, or a GitLab project API URL (https://HOST/api/v4/projects/ID), for disk images, Vagrant boxes and the catalog')
    .option('--gitlab-package <name>', 'the generic package the files go to, one package version per build version (with --boxes URL)')
    .option('--box-name <org/name>', 'the Vagrant box name (default: archlinux/archlinux, debian/<release>)')
    .option('--base-url <url>', 'where a --boxes directory is served from (default: its file:// URL)')
    .option('--include-executor', 'publish the libvirt-executor image too')
    .option('--unverified', 'publish artifacts no second build reproduced (tags and the catalog say so)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (raw: RawPublishOptions) => {
      const options = parsePublishOptions(raw);
      const report = await interruptible((signal) => publish(options, { signal, onEvent: (line) => process.stderr.write(`boxes: publish: ${line}\n`) }));
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatPublish(report)}\n`);
    });
}
