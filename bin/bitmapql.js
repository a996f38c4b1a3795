#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader. Production unless told otherwise: graphql-js
// skips its development-only checks (a measurable share of each request's CPU).
import { register } from 'tsx/esm/api';

process.env.NODE_ENV ??= 'production';
register();
await import('../src/main.ts');
