import { test } from 'node:test';
import { checkFixture, fixtureFiles } from '../helpers/fixtures';

// Every test/fixtures/<case>.(jsonl|json) is validated and compared with <case>.expected.
for (const name of fixtureFiles()) {
  test(`fixture ${name}`, async () => {
    await checkFixture(name);
  });
}
