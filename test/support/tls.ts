import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { requireProgram } from './programs';
import { TLS_VOLUME } from '../../src/render/tls';

/**
 * Certificates made with the real `openssl` for the TLS tests: a CA, and certificates it
 * signs (ECDSA P-256, valid for a day), as a kubernetes.io/tls Secret holds them.
 */

export interface CertificateAuthority {
  readonly dir: string;
  readonly name: string;
  /** PEM of the CA certificate (the Secret's ca.crt). */
  readonly cert: string;
  readonly certFile: string;
  readonly keyFile: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync(requireProgram('openssl'), args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function makeCa(dir: string, name: string): CertificateAuthority {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '1', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { dir, name, cert: readFileSync(certFile, 'utf8'), certFile, keyFile };
}

/** A certificate signed by `ca` for `dnsNames` (and 127.0.0.1), usable as server and client certificate. */
export function issue(ca: CertificateAuthority, name: string, dnsNames: readonly string[]): { readonly cert: string; readonly key: string } {
  const key = join(ca.dir, `${name}.key`);
  const csr = join(ca.dir, `${name}.csr`);
  const cert = join(ca.dir, `${name}.crt`);
  const ext = join(ca.dir, `${name}.ext`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], ca.dir);
  writeFileSync(ext, [
    `subjectAltName=${[...dnsNames.map((d) => `DNS:${d}`), 'IP:127.0.0.1'].join(',')}`,
    'extendedKeyUsage=serverAuth,clientAuth',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    '',
  ].join('\n'));
  openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext], ca.dir);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

/** The data of a kubernetes.io/tls Secret with ca.crt, as the pod's secret volume shows it. */
export function tlsSecret(ca: CertificateAuthority, leaf: { readonly cert: string; readonly key: string }): Record<string, string> {
  return { 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': ca.cert };
}

/**
 * For every Secret volume of a pod template (spec.tls): a CA made here and a certificate it
 * signs for `localhost`, as the Secret's data. Pass them in `secrets`; the pod's `tls`
 * then holds the CA for clients.
 */
export function tlsSecretsFor(sts: V1StatefulSet, dir: string): Record<string, Record<string, string>> {
  // Only the TLS volume: other Secret volumes (the role agent's password file) are not certificates.
  const volumes = (sts.spec?.template.spec?.volumes ?? []).filter((v) => v.name === TLS_VOLUME && v.secret?.secretName);
  if (volumes.length === 0) return {};
  const ca = makeCa(dir, 'pod-ca');
  return Object.fromEntries(volumes.map((v) => [v.secret!.secretName!, tlsSecret(ca, issue(ca, v.secret!.secretName!, ['localhost']))]));
}
