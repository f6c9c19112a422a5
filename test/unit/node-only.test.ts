// The unit project's promise, checked where the tests run: PATH holds node and nothing else.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('unit tests need nothing but Node', () => {
  it('run with a PATH of one directory holding node alone', () => {
    const dirs = (process.env.PATH ?? '').split(':');
    expect(dirs).toHaveLength(1);
    expect(readdirSync(dirs[0]!)).toEqual(['node']);
  });
});
