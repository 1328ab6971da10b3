/**
 * API errors, serialised as `v1 Status` bodies exactly as kube-apiserver writes them
 * (k8s.io/apimachinery/pkg/api/errors).
 */
import type { ResourceType } from './resources';
import { qualifiedResource } from './resources';
import { quote } from './util';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

/** Builds a Status with the apiserver's field order (details fields in Go struct order). */
export function statusBody(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): StatusBody {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details) body.details = orderDetails(details);
  body.code = code;
  return body;
}

function orderDetails(d: StatusDetails): StatusDetails {
  const out: StatusDetails = {};
  if (d.name) out.name = d.name;
  if (d.group) out.group = d.group;
  if (d.kind) out.kind = d.kind;
  if (d.uid) out.uid = d.uid;
  if (d.causes && d.causes.length > 0) out.causes = d.causes;
  if (d.retryAfterSeconds) out.retryAfterSeconds = d.retryAfterSeconds;
  return out;
}

export class ApiError extends Error {
  readonly headers: Record<string, string>;
  constructor(
    readonly code: number,
    readonly body: StatusBody,
    headers: Record<string, string> = {},
  ) {
    super(body.message ?? `HTTP ${code}`);
    this.headers = headers;
  }
}

/** One field.Error from k8s.io/apimachinery/pkg/util/validation/field. */
export type FieldError =
  | { type: 'FieldValueForbidden'; field: string; detail: string }
  | { type: 'FieldValueRequired'; field: string; detail: string }
  | { type: 'FieldValueInvalid'; field: string; value: string; detail: string }
  | { type: 'FieldValueNotSupported'; field: string; value: string; supported: string[] };

/** field.Error.ErrorBody(): the message without the field path. */
export function fieldErrorBody(e: FieldError): string {
  switch (e.type) {
    case 'FieldValueForbidden':
      return `Forbidden: ${e.detail}`;
    case 'FieldValueRequired':
      return e.detail ? `Required value: ${e.detail}` : 'Required value';
    case 'FieldValueInvalid':
      return `Invalid value: ${e.value}: ${e.detail}`;
    case 'FieldValueNotSupported':
      return `Unsupported value: ${e.value}: supported values: ${e.supported.map(quote).join(', ')}`;
  }
}

export function fieldErrorString(e: FieldError): string {
  return `${e.field}: ${fieldErrorBody(e)}`;
}

// --- constructors mirroring k8s.io/apimachinery/pkg/api/errors ---------------------------

export function notFound(rt: ResourceType, name: string): ApiError {
  return new ApiError(
    404,
    statusBody(404, 'NotFound', `${qualifiedResource(rt)} ${quote(name)} not found`, {
      name,
      group: rt.group,
      kind: rt.plural,
    }),
  );
}

export function alreadyExists(rt: ResourceType, name: string): ApiError {
  return new ApiError(
    409,
    statusBody(409, 'AlreadyExists', `${qualifiedResource(rt)} ${quote(name)} already exists`, {
      name,
      group: rt.group,
      kind: rt.plural,
    }),
  );
}

/** errors.NewConflict(qualifiedResource, name, err). `resource` may be a kind (see BeforeDelete). */
export function conflict(group: string, resource: string, name: string, err: string): ApiError {
  const qualified = group ? `${resource}.${group}` : resource;
  return new ApiError(
    409,
    statusBody(409, 'Conflict', `Operation cannot be fulfilled on ${qualified} ${quote(name)}: ${err}`, {
      name,
      group,
      kind: resource,
    }),
  );
}

export const OPTIMISTIC_LOCK_ERROR =
  'the object has been modified; please apply your changes to the latest version and try again';

export function staleResourceVersion(rt: ResourceType, name: string): ApiError {
  return conflict(rt.group, rt.plural, name, OPTIMISTIC_LOCK_ERROR);
}

/** errors.NewInvalid(qualifiedKind, name, errs). */
export function invalid(group: string, kind: string, name: string, errs: FieldError[]): ApiError {
  const qk = group ? `${kind}.${group}` : kind;
  const aggregate =
    errs.length === 1 ? fieldErrorString(errs[0]) : `[${errs.map(fieldErrorString).join(', ')}]`;
  const message = errs.length === 0 ? `${qk} ${quote(name)} is invalid` : `${qk} ${quote(name)} is invalid: ${aggregate}`;
  return new ApiError(
    422,
    statusBody(422, 'Invalid', message, {
      name,
      group,
      kind,
      causes: errs.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
    }),
  );
}

export function invalidObject(rt: ResourceType, name: string, errs: FieldError[]): ApiError {
  return invalid(rt.group, rt.kind, name, errs);
}

/** errors.NewForbidden(qualifiedResource, name, err), e.g. from an admission plugin. */
export function forbidden(rt: ResourceType, name: string, err: string): ApiError {
  const subject = name ? `${qualifiedResource(rt)} ${quote(name)}` : qualifiedResource(rt);
  return new ApiError(
    403,
    statusBody(403, 'Forbidden', `${subject} is forbidden: ${err}`, { name, group: rt.group, kind: rt.plural }),
  );
}

/** 410 Expired: a LIST's continue token names a revision older than the last compaction. */
export function expired(): ApiError {
  return new ApiError(410, statusBody(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. '
    + 'You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. '
    + 'Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time '
    + 'the first chunk was returned and now may show up in the list.'));
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, statusBody(400, 'BadRequest', message));
}

export function unsupportedMediaType(accepted: string[]): ApiError {
  return new ApiError(
    415,
    statusBody(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    ),
  );
}

/** What the apiserver answers for a path it does not serve. */
export function pathNotFound(): ApiError {
  return new ApiError(404, statusBody(404, 'NotFound', 'the server could not find the requested resource', {}));
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    statusBody(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
  );
}

export function unauthorized(): ApiError {
  return new ApiError(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
}

/**
 * errors.NewGenericServerResponse(422, "", GroupResource{}, "", msg, 0, false): what a JSON patch
 * that cannot be applied (failed `test`, missing path) is answered with. The reason text is lost.
 */
export function patchNotApplied(): ApiError {
  return new ApiError(
    422,
    statusBody(422, 'Invalid', 'the server rejected our request due to an error in our request', {}),
  );
}

export function internalError(err: string): ApiError {
  return new ApiError(
    500,
    statusBody(500, 'InternalError', `Internal error occurred: ${err}`, { causes: [{ message: err }] }),
  );
}

export function serviceUnavailable(message: string): ApiError {
  return new ApiError(503, statusBody(503, 'ServiceUnavailable', message));
}

export function tooManyRequests(message: string, retryAfterSeconds: number): ApiError {
  return new ApiError(
    429,
    statusBody(429, 'TooManyRequests', message, { retryAfterSeconds }),
    { 'Retry-After': String(retryAfterSeconds) },
  );
}
