import { describe, expect, it } from 'vitest';
import { formatChecks, nodeOk, perDistribution, pythonOk } from '../../src/setup/prerequisites.js';

describe('boxes setup --check report', () => {
  it('gives each fix one line per distribution family, under the check it fixes', () => {
    const text = formatChecks([
      { name: 'python3 >= 3.9', ok: false, detail: 'not found', fix: perDistribution('apt-get install python3', 'dnf install python3', 'pacman -S python') },
      { name: 'libvirt (boxes executor)', ok: false, detail: 'not found', fix: 'x', optional: true },
      { name: 'tools tree', ok: true, detail: '/cache/tools/t', fix: 'never shown' },
    ]);
    expect(text.split('\n')).toEqual([
      `MISSING ${'python3 >= 3.9'.padEnd(38)} not found`,
      '        fix: Debian/Ubuntu: apt-get install python3',
      '             Fedora: dnf install python3',
      '             Arch: pacman -S python',
      `missing ${'libvirt (boxes executor)'.padEnd(38)} not found`,
      '        fix: x',
      `ok      ${'tools tree'.padEnd(38)} /cache/tools/t`,
    ]);
  });

  it('knows which Node and Python are new enough', () => {
    expect([nodeOk('v20.0.0'), nodeOk('v22.1.0'), nodeOk('v18.19.1')]).toEqual([true, true, false]);
    expect([pythonOk('Python 3.9.2'), pythonOk('Python 3.13.0'), pythonOk('Python 3.8.10'), pythonOk(undefined)]).toEqual([true, true, false, false]);
  });
});
