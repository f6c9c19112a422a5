/** `boxes audit`: artifacts checked for shipped secrets and unsafe files, without booting them. */
import type { Command } from 'commander';
import { auditArtifact, detectKind, formatAudit } from '../audit/audit-artifact.js';
import { AuditFailed } from '../audit/audit-failed.js';
import { UsageError } from '../system/errors.js';
import { interruptible } from './shared.js';
import { openToolbox } from '../image/toolbox.js';
import { HOST_TOOLBOX, requireVisibleToTools } from '../system/toolbox.js';

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('check artifacts for shipped secrets and unsafe files without booting them')
    .argument('[artifacts...]', 'OCI archives, qcow2 or raw disks, Vagrant boxes')
    .option('--json', 'print the findings as JSON on stdout')
    .action(async (artifacts: string[], o: { json?: boolean }) => {
      if (artifacts.length === 0) throw new UsageError('say what to audit: boxes audit ARTIFACT...');
      const kinds: string[] = [];
      for (const a of artifacts) kinds.push((await detectKind(a)).kind);
      for (const [i, a] of artifacts.entries()) if (kinds[i] !== 'container') requireVisibleToTools('boxes audit', a);
      const reports = await interruptible(async (signal) => {
        // boxes reads OCI archives itself; disks and boxes need the tools tree's readers.
        const disks = kinds.some((k) => k !== 'container');
        const tools = disks ? await openToolbox({ signal, say: (line) => process.stderr.write(`boxes: ${line}\n`) }) : HOST_TOOLBOX;
        const out = [];
        for (const a of artifacts) out.push(await auditArtifact(a, { tools, signal }));
        return out;
      });
      process.stdout.write(o.json ? `${JSON.stringify(reports, null, 2)}\n` : `${reports.map(formatAudit).join('\n')}\n`);
      const count = reports.reduce((n, r) => n + r.findings.length, 0);
      if (count > 0)
        throw new AuditFailed(`audit found ${count} problem${count > 1 ? 's' : ''} in ${reports.filter((r) => r.findings.length).length} of ${reports.length} artifacts`);
    });
}
