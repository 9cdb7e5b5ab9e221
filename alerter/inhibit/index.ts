// The inhibition stage: configured and built-in rules, and whether a firing alert holds another down.

export * from './inhibit.ts';
export * from './builtin.ts';
export * from './schema.ts';
