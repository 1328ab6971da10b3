import { describe, expect, it } from 'vitest';
import { SECRET_HASH_ANNOTATION, authSecret, desiredFor, ownerReference, secretHash } from '../../src/reconcile/desired';
import { CONFIG_HASH_ANNOTATION, TEMPLATE_HASH_ANNOTATION, renderInstance } from '../../src/render/instance';
import { validateRedisInstance } from '../../src/api/validate';
import { UID, instanceObject } from './fixtures';

describe('desiredFor', () => {
  it('renders with the same builders as synth, plus ownerReferences on every child but the claim templates', () => {
    const obj = instanceObject({ image: 'redis:7.2.4-alpine', replicas: 3 });
    const result = desiredFor(obj);
    if (!result.ok) throw new Error('invalid');
    const rendered = renderInstance(validateRedisInstance(obj, { origin: 'cluster' }).instance!);
    const owner = { apiVersion: 'redis.github.com/v1', kind: 'RedisInstance', name: 'cache', uid: UID, controller: true, blockOwnerDeletion: true };
    expect(ownerReference(obj)).toEqual(owner);
    for (const child of [result.objects.configMap, result.objects.service, result.objects.primaryService, result.objects.statefulSet, result.objects.podDisruptionBudget]) {
      expect(child!.metadata!.ownerReferences).toEqual([owner]);
    }
    expect(result.objects.statefulSet.spec!.volumeClaimTemplates![0].metadata!.ownerReferences).toBeUndefined();
    // Apart from the ownerReference, exactly what synth writes to dist/.
    const { ownerReferences: _o, ...metadata } = result.objects.statefulSet.metadata!;
    expect({ ...result.objects.statefulSet, metadata }).toEqual(rendered.statefulSet);
  });

  it('returns the validation issues, with field paths, for an invalid spec', () => {
    const result = desiredFor(instanceObject({ image: 'redis', storage: { size: 'lots' }, config: { port: '1' } }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['spec.storage.size', 'spec.config.port']));
  });

  it('puts no secret hash on the pod template (passwords rotate live): the template is the one Git renders', () => {
    const spec = { image: 'redis:7.2.4-alpine', auth: { secretName: 'cache-auth' } };
    const without = desiredFor(instanceObject(spec));
    const withHash = desiredFor(instanceObject(spec), { secretHash: 'c'.repeat(64) });
    if (!without.ok || !withHash.ok) throw new Error('invalid');
    const annotations = withHash.objects.statefulSet.spec!.template.metadata!.annotations!;
    expect(annotations[SECRET_HASH_ANNOTATION]).toBeUndefined();
    expect(annotations[CONFIG_HASH_ANNOTATION]).toBeDefined();
    expect(withHash.objects.statefulSet.spec!.template).toEqual(without.objects.statefulSet.spec!.template);
    expect(withHash.objects.statefulSet.metadata!.annotations![TEMPLATE_HASH_ANNOTATION]).toBe(without.objects.statefulSet.metadata!.annotations![TEMPLATE_HASH_ANNOTATION]);
  });

  it('ignores the secret hash without spec.auth', () => {
    const result = desiredFor(instanceObject({ image: 'redis:7.2.4-alpine' }), { secretHash: 'c'.repeat(64) });
    if (!result.ok) throw new Error('invalid');
    expect(result.objects.statefulSet.spec!.template.metadata!.annotations![SECRET_HASH_ANNOTATION]).toBeUndefined();
  });
});

describe('secretHash', () => {
  const secret = (password: string, uid = 's-1') => ({ metadata: { name: 'cache-auth', uid }, data: { password: Buffer.from(password).toString('base64') } });

  it('changes with the password, is stable otherwise, and is not a bare SHA-256 of it', () => {
    const a = secretHash(secret('hunter2'), 'password');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(secretHash(secret('hunter2'), 'password')).toBe(a);
    expect(secretHash(secret('hunter3'), 'password')).not.toBe(a);
    expect(a).not.toBe(require('node:crypto').createHash('sha256').update('hunter2').digest('hex'));
  });

  it('is undefined when the Secret or the key is missing', () => {
    expect(secretHash(undefined, 'password')).toBeUndefined();
    expect(secretHash(secret('x'), 'other')).toBeUndefined();
  });
});

describe('authSecret: the secret hash, or the warning that says why there is none', () => {
  const secret = { metadata: { name: 'cache-auth', uid: 's-1' }, data: { password: Buffer.from('pw').toString('base64') } };
  const withAuth = (secretKey?: string) => instanceObject({ image: 'redis:7.2.4-alpine', auth: { secretName: 'cache-auth', ...(secretKey ? { secretKey } : {}) } });

  it('hashes the password when the Secret has the key', () => {
    expect(authSecret(withAuth(), { secrets: new Map([['cache-auth', secret]]) })).toEqual({ secretHash: secretHash(secret, 'password') });
  });

  it('gives each cause its own reason', () => {
    expect(authSecret(withAuth(), { secrets: new Map() })).toEqual({
      warning: { reason: 'SecretNotFound', message: 'Secret cache-auth not found; the pods cannot start until it exists' },
    });
    expect(authSecret(withAuth('other'), { secrets: new Map([['cache-auth', secret]]) })).toEqual({
      warning: { reason: 'SecretKeyMissing', message: 'Secret cache-auth has no key "other"; the pods cannot start until it does' },
    });
    expect(authSecret(withAuth(), { error: 'forbidden' })).toEqual({
      warning: { reason: 'SecretsUnreadable', message: 'cannot read Secrets in web, so whether Secret cache-auth exists is not checked (forbidden)' },
    });
  });

  it('says nothing for an instance without auth', () => {
    expect(authSecret(instanceObject({ image: 'redis:7.2.4-alpine' }), { error: 'forbidden' })).toEqual({});
  });
});
