// The slow tests only (see vitest.config.ts): `npm run test:package`.
import { defineConfig } from 'vitest/config';
import base, { SLOW_TESTS } from './vitest.config.js';

export default defineConfig({ ...base, test: { ...base.test, include: [SLOW_TESTS], exclude: [] } });
