export * from './load';
export * from './dist';
export * from './synthesize';
