/** `boxes test`: boot an image in QEMU and check it from the inside. */
import type { Command } from 'commander';
import { formatTestReport, testImage } from '../vm/test-image.js';
import { parseTestOptions, type RawTestOptions } from '../vm/test-options.js';
import { interruptible } from './shared.js';
import { openToolbox } from '../image/toolbox.js';

export function registerTest(program: Command): void {
  program
    .command('test')
    .description('boot an image or a Vagrant box disk in QEMU (BIOS and UEFI) and check login, sudo, units, guest agent and first-boot identity')
    .option('--profile <profile>', 'which image to test: basic, cloud-init, libvirt-executor, vagrant-libvirt or vagrant-virtualbox')
    .option('--artifact <path>', 'the image to boot (default: the newest of the profile in --output-dir)')
    .option('--firmware <bios|uefi>', 'boot with this firmware only (default: one BIOS and one UEFI boot)')
    .option('--distribution <name>', 'arch or debian, for an image without its build record beside it')
    .option('--cpus <n>', 'virtual CPUs of each VM (default: 2)')
    .option('--output-dir <dir>', 'where to look for the image and write serial logs', 'output')
    .option('--check <names>', 'checks to run, comma-separated: names replace the default set, +name adds (opt-in: kernel-upgrade), -name skips')
    .option('--timeout <minutes>', 'time limit for each boot and its checks (default: 15; 45 with kernel-upgrade)')
    .option('--json', 'print the results as JSON on stdout')
    .action(async (raw: RawTestOptions) => {
      const options = parseTestOptions(raw);
      const report = await interruptible((signal) => {
        const say = (line: string) => process.stderr.write(`boxes: ${line}\n`);
        return testImage(options, { signal, onEvent: say, openTools: () => openToolbox({ signal, say }) });
      });
      process.stdout.write(raw.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatTestReport(report)}\n`);
    });
}
