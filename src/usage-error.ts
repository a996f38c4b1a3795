// The error of a command used wrongly (a bad flag, a missing file): the CLI prints its message and exits 2.

/** Thrown by the commands (import, demo-data, …) for what the user must change; never for a failure of the data or the store. */
export class UsageError extends Error {}
