export * from './compare';
export * from './diff';
export * from './load-app';
export * from './read-dist';
export * from './redis-configs';
export * from './report';
