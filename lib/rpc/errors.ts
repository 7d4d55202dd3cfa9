/**
 * Errors across the wire: typed tcfs errors become gRPC status codes with
 * their one-line message, and come back on the client as the same kinds, so
 * the CLI prints the same message and exit code with or without a daemon.
 *
 * @module
 */

import { status as Status } from "@grpc/grpc-js";
import type { ServiceError } from "@grpc/grpc-js";
import {
  IntegrityError,
  KeyError,
  NotFoundError,
  NotImplementedError,
  TcfsError,
  UsageError,
} from "../errors.ts";
import { PathOutsideRootsError } from "../daemon/confine.ts";

/** The gRPC status for an error thrown by an operation. */
export function toGrpcError(err: unknown): { code: Status; details: string } {
  const details = err instanceof Error ? err.message.split("\n")[0] : String(err);
  if (err instanceof PathOutsideRootsError) return { code: Status.PERMISSION_DENIED, details };
  if (err instanceof UsageError) return { code: Status.INVALID_ARGUMENT, details };
  if (err instanceof NotFoundError) return { code: Status.NOT_FOUND, details };
  if (err instanceof NotImplementedError) return { code: Status.UNIMPLEMENTED, details };
  if (err instanceof IntegrityError) return { code: Status.DATA_LOSS, details };
  if (err instanceof KeyError) return { code: Status.UNAUTHENTICATED, details };
  if (err instanceof TcfsError) return { code: Status.FAILED_PRECONDITION, details };
  return { code: Status.INTERNAL, details: `daemon error: ${details}` };
}

/** The tcfs error for a failed call. */
export function fromGrpcError(err: ServiceError): TcfsError {
  const message = err.details || err.message;
  switch (err.code) {
    case Status.INVALID_ARGUMENT:
      return new UsageError(message);
    case Status.NOT_FOUND:
      return new NotFoundError(message);
    case Status.DATA_LOSS:
      return new IntegrityError(message);
    case Status.UNAUTHENTICATED:
      return new KeyError(message);
    case Status.PERMISSION_DENIED:
      return new PathOutsideRootsError(message);
    case Status.UNAVAILABLE:
      return new TcfsError(`the daemon is not reachable: ${message}`);
    default:
      return new TcfsError(message);
  }
}
