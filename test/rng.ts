// A small seeded PRNG (mulberry32, the demo generator's), so random tests and benchmark data are repeatable.

export { mulberry32 as rng } from '../src/demo/generate.ts';
