export * from './annotations';
export * from './application';
export * from './config-patch';
export * from './health';
export * from './ignore-differences';
export * from './redis-argocd';
export * from './sync-waves';
