import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { redisInstanceCrd } from '../api/crd';

/** The RedisInstance CustomResourceDefinition, exactly as in src/api/redisinstance.crd.yaml. */
export class RedisInstanceCrd extends ApiObject {
  constructor(scope: Construct, id: string) {
    super(scope, id, structuredClone(redisInstanceCrd) as any);
  }
}
