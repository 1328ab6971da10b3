import { describe, expect, it } from 'vitest';
import { CONFIG_STATUS_ANNOTATION, configAppliedCondition, parseAgentStatus } from '../../src/reconcile/live-config';

const HASH = 'a'.repeat(64);
const OLD = 'b'.repeat(64);
const ERROR = "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: noeviction";
const pod = (name: string, status?: string) => ({ name, ...(status === undefined ? {} : { annotations: { [CONFIG_STATUS_ANNOTATION]: status } }) });

describe('parseAgentStatus', () => {
  it('reads the fields the agent writes, tab-separated, and ignores unknown ones', () => {
    expect(parseAgentStatus(`config=${HASH}\tauth=rotating until 1767225600\trefused=maxmemory-policy ${ERROR}\trefused=hz ERR x\tfuture=1\n`)).toEqual({
      config: HASH, auth: 'rotating until 1767225600', refused: [{ key: 'maxmemory-policy', error: ERROR }, { key: 'hz', error: 'ERR x' }],
    });
    expect(parseAgentStatus('garbage')).toEqual({ config: undefined, auth: undefined, refused: [] });
  });

  it('is bounded whatever a pod writes', () => {
    const parsed = parseAgentStatus(`config=${HASH}\trefused=k ${'e'.repeat(100_000)}`);
    expect(parsed.refused[0].error).toHaveLength(300);
  });
});

describe('configAppliedCondition', () => {
  it('True when every pod reports the desired hash without refusals', () => {
    expect(configAppliedCondition([pod('cache-1', `config=${HASH}`), pod('cache-0', `config=${HASH}\tauth=current`)], HASH)).toEqual({
      type: 'ConfigApplied', status: 'True', reason: 'Applied', message: 'live config aaaaaaaaaaaa in force on 2/2 pods',
    });
  });

  it('says when the old password is still accepted (grace period)', () => {
    expect(configAppliedCondition([pod('cache-0', `config=${HASH}\tauth=rotating until 1767225600`)], HASH).message)
      .toBe('live config aaaaaaaaaaaa in force on 1/1 pods; the old password is still accepted on cache-0 (grace period)');
  });

  it('False/Refused names each pod, key and Redis error', () => {
    const c = configAppliedCondition([pod('cache-0', `config=${HASH}`), pod('cache-1', `config=${HASH}\trefused=maxmemory-policy ${ERROR}`)], HASH);
    expect(c).toEqual({
      type: 'ConfigApplied', status: 'False', reason: 'Refused',
      message: `live config aaaaaaaaaaaa: cache-1 refused maxmemory-policy (${ERROR}); the previous values stay in force there`,
    });
  });

  it('a refusal of an older config does not count once the pod reports the new one; pods still on it are Pending', () => {
    const c = configAppliedCondition([pod('cache-0', `config=${OLD}\trefused=hz ERR x`), pod('cache-1'), pod('cache-2', `config=${HASH}`)], HASH);
    expect(c).toEqual({ type: 'ConfigApplied', status: 'Unknown', reason: 'Pending', message: 'live config aaaaaaaaaaaa not yet reported by cache-0, cache-1' });
  });

  it('False/PasswordRefused when a pod could not apply a new password', () => {
    const c = configAppliedCondition([pod('cache-0', `config=${HASH}\tauth=refused ERR boom`)], HASH);
    expect(c).toEqual({
      type: 'ConfigApplied', status: 'False', reason: 'PasswordRefused',
      message: 'the new password was not applied on cache-0 (ERR boom); the old one stays in force there',
    });
  });

  it('Unknown without pods; long pod lists are cut; control characters from a pod are shown as spaces', () => {
    expect(configAppliedCondition([], HASH)).toMatchObject({ status: 'Unknown', reason: 'NoPods' });
    const many = Array.from({ length: 8 }, (_, i) => pod(`cache-${i}`));
    expect(configAppliedCondition(many, HASH).message).toBe('live config aaaaaaaaaaaa not yet reported by cache-0, cache-1, cache-2, cache-3, cache-4 and 3 more');
    expect(configAppliedCondition([pod('cache-0', `config=${HASH}\trefused=hz ERR\x1b[31m`)], HASH).message).toContain('hz (ERR [31m)');
  });
});
