// The embedded engine's public surface: what the gateway, the CLI, tests and benches import.

export { EmbeddedEngine, openEmbeddedEngine } from './engine.ts';
export type { EmbeddedOptions } from './engine.ts';
export { HELD_DATA_FILE } from './files.ts';
export { FolderLockedError } from './lock.ts';
export type { RecoveryReport } from './recovery.ts';
export type { CompactionStep } from './snapshot.ts';
